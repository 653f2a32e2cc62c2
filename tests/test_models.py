import pytest
import torch

from fer_runtime.errors import FerError
from fer_train.fold import fold_batchnorm
from fer_train.models import MODELS, build_model, count_parameters


def test_seed_cnn_has_the_seeds_six_million_parameters():
    assert count_parameters(build_model("seed_cnn", 4)) == 5_997_380


def test_fer_resnet_is_small():
    assert count_parameters(build_model("fer_resnet", 4)) <= 1_500_000


@pytest.mark.parametrize("name", sorted(MODELS))
@pytest.mark.parametrize("classes", [4, 7])
def test_forward_shape(name, classes):
    model = build_model(name, classes).eval()
    assert model(torch.zeros(3, 1, 48, 48)).shape == (3, classes)


@pytest.mark.parametrize("name", sorted(MODELS))
def test_batchnorm_folding_keeps_the_outputs(name):
    torch.manual_seed(0)
    model = build_model(name, 4)
    model.train()
    with torch.no_grad():  # give BatchNorm non-trivial running statistics
        for _ in range(3):
            model(torch.randn(16, 1, 48, 48) * 2 + 0.5)
    model.eval()
    folded = fold_batchnorm(model)
    assert not any(isinstance(m, torch.nn.modules.batchnorm._BatchNorm) for m in folded.modules())
    x = torch.randn(5, 1, 48, 48)
    with torch.no_grad():
        assert torch.allclose(folded(x), model(x), atol=1e-4)


def test_seed_cnn_options_for_sweeps():
    model = build_model("seed_cnn", 4, kernel_size=5, pooling="avg", activation_fn="elu", conv_dropout=0.1)
    assert model(torch.zeros(2, 1, 48, 48)).shape == (2, 4)
    with pytest.raises(FerError):
        build_model("seed_cnn", 4, pooling="median")
    with pytest.raises(FerError, match="unknown model"):
        build_model("vgg99", 4)


def test_fer_resnet_strides_set_each_stages_resolution():
    default, late = build_model("fer_resnet", 4), build_model("fer_resnet", 4, strides=(1, 2, 2, 1))
    assert count_parameters(late) == count_parameters(default)
    x = torch.zeros(1, 1, 48, 48)
    assert default.stages(default.stem(x)).shape[-1] == 3 and late.stages(late.stem(x)).shape[-1] == 6
    with pytest.raises(FerError, match="one entry per stage"):
        build_model("fer_resnet", 4, strides=(1, 2, 2))
