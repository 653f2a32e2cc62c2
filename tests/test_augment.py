import pytest
import torch

from fer_train.augment import AugmentConfig, augment_batch, mix_batch


def _batch() -> torch.Tensor:
    return torch.randn(16, 1, 48, 48, generator=torch.Generator().manual_seed(0))


def test_shape_dtype_and_value_range():
    x = _batch()
    out = augment_batch(x, std=0.25, config=AugmentConfig(), g=torch.Generator().manual_seed(1))
    assert out.shape == x.shape and out.dtype == x.dtype
    assert torch.isfinite(out).all()
    # resampling makes no new extremes; then |(v - m)·c + m + b| <= 2M·1.2 + M + 0.15/0.25
    peak = x.abs().max()
    assert out.abs().max() <= 3.4 * peak + 0.6 + 1e-4
    assert not torch.equal(out, x)


def test_same_generator_same_result_and_input_untouched():
    x = _batch()
    copy = x.clone()
    a = augment_batch(x, 0.25, AugmentConfig(), torch.Generator().manual_seed(7))
    b = augment_batch(x, 0.25, AugmentConfig(), torch.Generator().manual_seed(7))
    assert torch.equal(a, b) and torch.equal(x, copy)


def test_flip_only_mirrors_each_image_or_leaves_it():
    x = _batch()
    config = AugmentConfig(flip=True, rotation_deg=0, translate=0, brightness=0, contrast=0)
    out = augment_batch(x, 0.25, config, torch.Generator().manual_seed(3))
    for original, augmented in zip(x, out):
        assert torch.equal(augmented, original) or torch.equal(augmented, original.flip(-1))
    assert any(not torch.equal(a, b) for a, b in zip(out, x))


def test_disabled_augmentation_is_identity():
    x = _batch()
    config = AugmentConfig(flip=False, rotation_deg=0, translate=0, brightness=0, contrast=0, erase_p=0)
    assert torch.equal(augment_batch(x, 0.25, config, torch.Generator()), x)


def test_cutmix_pastes_one_box_and_weights_labels_by_its_area():
    x = torch.arange(4, dtype=torch.float32).view(4, 1, 1, 1).expand(4, 1, 12, 12).contiguous()
    g = torch.Generator().manual_seed(0)
    for _ in range(20):
        mixed, partner, lam = mix_batch(x, 0.0, 1.0, g)
        for i in range(4):
            if partner[i] == i:
                continue
            from_partner = mixed[i, 0] == x[partner[i], 0, 0, 0]
            rows, cols = from_partner.any(1).nonzero().flatten(), from_partner.any(0).nonzero().flatten()
            box = 0 if len(rows) == 0 else (rows.max() - rows.min() + 1) * (cols.max() - cols.min() + 1)
            assert int(from_partner.sum()) == int(box)  # one solid rectangle
            assert lam == pytest.approx(1 - int(box) / 144)
            assert bool(((mixed[i, 0] == x[i, 0, 0, 0]) | from_partner).all())


def test_mixup_blends_whole_images_and_alternates_with_cutmix():
    x = torch.randn(6, 1, 8, 8)
    mixed, partner, lam = mix_batch(x, 0.2, 0.0, torch.Generator())
    assert torch.allclose(mixed, lam * x + (1 - lam) * x[partner])
    same, partner, lam = mix_batch(x, 0.0, 0.0, torch.Generator())
    assert torch.equal(same, x) and partner.tolist() == list(range(6)) and lam == 1.0
    g = torch.Generator().manual_seed(1)
    kinds = set()
    for _ in range(20):
        mixed, partner, lam = mix_batch(x, 0.2, 1.0, g)
        kinds.add("mixup" if torch.allclose(mixed, lam * x + (1 - lam) * x[partner]) else "cutmix")
    assert kinds == {"mixup", "cutmix"}


def test_mix_batch_draws_only_from_the_generator_passed_in():
    x = torch.rand(8, 1, 48, 48)
    for mixup, cutmix in ((0.2, 0.0), (0.0, 1.0), (0.2, 1.0)):
        torch.manual_seed(1)  # the global generator's state must not matter
        first = mix_batch(x, mixup, cutmix, torch.Generator().manual_seed(7))
        torch.manual_seed(2)
        second = mix_batch(x, mixup, cutmix, torch.Generator().manual_seed(7))
        assert torch.equal(first[0], second[0]) and torch.equal(first[1], second[1]) and first[2] == second[2]
        other = mix_batch(x, mixup, cutmix, torch.Generator().manual_seed(8))
        assert other[2] != first[2] or not torch.equal(other[1], first[1])
