"""Knowledge distillation: what a student in `fit` learns from its teachers' soft predictions.

With views "clean", the teachers predict once, before training, on the unaugmented faces (each face
and its mirror image averaged). With "augmented", they predict on every training batch exactly as
the student sees it (augmented and mixed), so the target always belongs to the student's input
(Beyer et al., "Knowledge distillation: A good teacher is patient and consistent", 2022).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

import numpy as np
import torch
from torch import nn

from fer_runtime.errors import FerError
from fer_runtime.spec import PreprocessSpec
from fer_train.checkpoint import LoadedModel
from fer_train.config import FitConfig
from fer_train.data import FaceDataset
from fer_train.graph_model import load_any_model
from fer_train.metrics import compute_metrics
from fer_train.predict import predict_logits

log = logging.getLogger(__name__)


CPU = torch.device("cpu")


@dataclass(frozen=True)
class TeacherEnsemble:
    """Teachers that predict on the student's training batches, each given the batch in its own
    normalisation (a teacher may have been trained with another mean and std)."""

    models: tuple[nn.Module, ...]
    rescale: tuple[tuple[float, float], ...]  # (scale, shift): teacher input = student input * scale + shift
    temperature: float
    bf16: bool = False  # predict in bfloat16 autocast, as a bf16 student trains
    device: torch.device = CPU

    @classmethod
    def of(
        cls,
        teachers: list[LoadedModel],
        spec: PreprocessSpec,
        temperature: float,
        bf16: bool = False,
        device: torch.device = CPU,
    ) -> TeacherEnsemble:
        """`teachers` on `device`, fed batches normalised with the student's `spec`."""
        return cls(
            tuple(t.model.to(device, memory_format=torch.channels_last) for t in teachers),  # type: ignore[call-overload]
            tuple((spec.std / t.spec.std, (spec.mean - t.spec.mean) / t.spec.std) for t in teachers),
            temperature,
            bf16,
            device,
        )

    @torch.no_grad()
    def probabilities(self, x: torch.Tensor) -> torch.Tensor:
        """The teachers' averaged probabilities at the distillation temperature for the batch `x`, [N, C]."""
        with torch.autocast(self.device.type, dtype=torch.bfloat16, enabled=self.bf16):
            logits = [model(x * scale + shift).float() for model, (scale, shift) in zip(self.models, self.rescale)]
        return torch.stack([torch.softmax(z / self.temperature, 1) for z in logits]).mean(0)


def _flip_averaged_probabilities(teacher: LoadedModel, pixels: np.ndarray, temperature: float) -> np.ndarray:
    logits = predict_logits(teacher.model, pixels, teacher.spec) + predict_logits(
        teacher.model, pixels[:, :, ::-1].copy(), teacher.spec
    )
    return torch.softmax(torch.from_numpy(logits / 2) / temperature, 1).numpy()


def distillation(
    config: FitConfig,
    train: FaceDataset,
    val: FaceDataset | None,
    spec: PreprocessSpec,
    device: torch.device = CPU,
) -> tuple[torch.Tensor | None, TeacherEnsemble | None]:
    """What the student learns from `config.teachers` (none: (None, None)), predicted on `device`. With
    distill_views "clean": their averaged probabilities for every training image, [N, C]; with "augmented":
    the teachers themselves, to predict on each batch. Logs the teachers' validation balanced accuracy."""
    if not config.teachers:
        return None, None
    teachers = [load_any_model(path, config.classes) for path in config.teachers]
    for path, teacher in zip(config.teachers, teachers):
        if teacher.spec.classes != config.classes:
            raise FerError(f"teacher {path} predicts {list(teacher.spec.classes)}, not {list(config.classes)}")
        teacher.model.to(device)  # the clean predictions too run where the student trains

    def ensemble(pixels: np.ndarray) -> np.ndarray:
        return np.mean([_flip_averaged_probabilities(t, pixels, config.distill_temperature) for t in teachers], axis=0)

    if val is not None:
        metrics = compute_metrics(val.labels, ensemble(val.pixels).argmax(1), config.classes)
        log.info("teachers (%d, flip-averaged): val balanced accuracy %.4f", len(teachers), metrics.balanced_accuracy)
    if config.distill_views == "augmented":
        return None, TeacherEnsemble.of(teachers, spec, config.distill_temperature, config.precision == "bf16", device)
    return torch.from_numpy(ensemble(train.pixels)).float(), None
