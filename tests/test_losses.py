import math

import pytest
import torch

from hrvgan import losses


def test_wgan_losses_by_hand():
    real, fake = torch.tensor([1.0, 3.0]), torch.tensor([-2.0, 0.0])
    assert losses.wgan_d_loss(real, fake).item() == pytest.approx(-1.0 - 2.0)  # E[fake] - E[real]
    assert losses.wgan_g_loss(fake).item() == pytest.approx(1.0)
    assert losses.drift_penalty(real).item() == pytest.approx((1 + 9) / 2)


def test_gradient_penalty_of_a_linear_critic():
    # D(x) = <w, x> has gradient w everywhere, so the penalty is (||w|| - 1)^2 = (5 - 1)^2 = 16.
    w = torch.tensor([3.0, 4.0])

    def critic(x, labels=None):
        return (x.flatten(1) * w).sum(1)

    real, fake = torch.randn(4, 2), torch.randn(4, 2)
    gp = losses.gradient_penalty(critic, real, fake)
    assert gp.item() == pytest.approx(16.0)
    # A 1-Lipschitz critic with unit gradient pays nothing.
    gp_unit = losses.gradient_penalty(lambda x, labels=None: x.flatten(1)[:, 0], real, fake)
    assert gp_unit.item() == pytest.approx(0.0)


def test_gradient_penalty_flows_to_critic_parameters():
    lin = torch.nn.Linear(3, 1)
    gp = losses.gradient_penalty(lambda x, labels=None: lin(x).squeeze(1), torch.randn(5, 3), torch.randn(5, 3))
    gp.backward()
    assert lin.weight.grad is not None and lin.weight.grad.abs().sum() > 0


def test_hinge_losses_by_hand():
    real, fake = torch.tensor([0.5, 3.0]), torch.tensor([-2.0, 0.5])
    # real: max(0, 1 - 0.5) = 0.5 and 0 (past the margin); fake: 0 (past it) and max(0, 1 + 0.5) = 1.5
    assert losses.hinge_d_loss(real, fake).item() == pytest.approx(0.5 / 2 + 1.5 / 2)
    assert losses.G_LOSSES["hinge"](fake).item() == pytest.approx(0.75)


def test_r1_penalty_of_a_linear_and_a_quadratic_critic():
    # D(x) = <w, x>: the gradient is w on every clip, so R1 = ||w||^2 = 25 (WGAN-GP would read (5 - 1)^2 = 16).
    w = torch.tensor([3.0, 4.0])
    real = torch.randn(4, 2)
    assert losses.r1_penalty(lambda x, labels=None: (x * w).sum(1), real).item() == pytest.approx(25.0)
    # D(x) = ||x||^2 / 2 has gradient x: R1 is the mean squared norm of the real clips, and it reads only them.
    r1 = losses.r1_penalty(lambda x, labels=None: x.pow(2).sum(1) / 2, real)
    assert r1.item() == pytest.approx(real.pow(2).sum(1).mean().item(), rel=1e-5)
    lin = torch.nn.Linear(2, 1)
    losses.r1_penalty(lambda x, labels=None: lin(x).squeeze(1), real).backward()
    assert lin.weight.grad is not None and lin.weight.grad.abs().sum() > 0                # it trains the critic
    assert not real.requires_grad                                                          # the batch is untouched


def test_bce_forms_by_hand():
    s = torch.tensor([0.0, 2.0])
    sig = lambda v: 1 / (1 + math.exp(-v))  # noqa: E731
    want_real = -(math.log(sig(0.0)) + math.log(sig(2.0))) / 2
    want_fake = -(math.log(1 - sig(0.0)) + math.log(1 - sig(2.0))) / 2
    assert losses.bce(s, 1.0).item() == pytest.approx(want_real, rel=1e-5)
    assert losses.bce(s, 0.0).item() == pytest.approx(want_fake, rel=1e-5)
    assert losses.bce_d_loss(s, s).item() == pytest.approx(want_real + want_fake, rel=1e-5)
    assert losses.bce_g_loss(s).item() == pytest.approx(want_real, rel=1e-5)
    # Large scores do not overflow.
    assert torch.isfinite(losses.bce_d_loss(torch.tensor([1e4]), torch.tensor([-1e4])))


def test_mse_by_hand():
    a, b = torch.tensor([[1.0, 2.0]]), torch.tensor([[3.0, 2.0]])
    assert losses.mse_loss(a, b).item() == pytest.approx((4 + 0) / 2)


def test_mode_seeking_by_hand():
    a, b = torch.zeros(2, 3), torch.full((2, 3), 0.5)
    za, zb = torch.zeros(2, 4), torch.full((2, 4), 2.0)
    # ratio = 0.5 / 2 = 0.25 -> loss = 1 / 0.25 = 4
    assert losses.mode_seeking_loss(a, b, za, zb).item() == pytest.approx(4.0, rel=1e-4)
    # A generator that ignores z pays a lot more.
    assert losses.mode_seeking_loss(a, a, za, zb).item() > 1e4


def test_mode_seeking_on_appearance_sees_another_performer_not_another_phase():
    """The appearance view (each clip's mean frame, 4x4 blocks): the same clip at another phase is the same look, so
    two seeds that differ only in phase pay as a collapse does; another colour is another look."""
    torch.manual_seed(0)
    clip = torch.rand(1, 3, 8, 16, 16) * 2 - 1
    other_phase = clip.roll(3, dims=2)                                   # the same frames, another moment
    other_look = clip.clone()
    other_look[:, 0] += 0.5                                              # redder: another shirt, another wall
    z_a, z_b = torch.zeros(1, 4), torch.ones(1, 4)
    assert losses.appearance(clip).shape == (1, 3, 4, 4)
    phase = losses.mode_seeking_loss(losses.appearance(clip), losses.appearance(other_phase), z_a, z_b)
    look = losses.mode_seeking_loss(losses.appearance(clip), losses.appearance(other_look), z_a, z_b)
    assert phase.item() > 1e4 and look.item() == pytest.approx(6.0, rel=1e-3)          # 1 / ((0.5 / 3) / 1)
    # On every pixel (MSGAN's view) the other phase reads as apart as the other look does, or more.
    assert losses.mode_seeking_loss(clip, other_phase, z_a, z_b) < 2 * losses.mode_seeking_loss(clip, other_look, z_a, z_b)


def test_per_clip_pixel_losses_and_the_better_of_each_pair():
    torch.manual_seed(0)
    target = torch.rand(4, 3, 2, 16, 16) * 2 - 1
    predicted = target.clone()
    predicted[1] += 0.5                                           # clip 1 off by 0.5 everywhere, clip 3 by 0.1
    predicted[3] += 0.1
    per_clip = losses.mse_loss(predicted, target, per_clip=True)
    assert torch.allclose(per_clip, torch.tensor([0.0, 0.25, 0.0, 0.01]), atol=1e-6)
    assert losses.mse_loss(predicted, target).item() == pytest.approx(per_clip.mean().item())
    structure = losses.ssim_loss(predicted, target, per_clip=True)
    assert structure.shape == (4,) and structure[0].abs() < 1e-4 and structure[1] > structure[3] > 1e-4
    assert losses.ssim_loss(predicted, target).item() == pytest.approx(structure.mean().item(), abs=1e-5)
    # rows 2 and 3 repeat rows 0 and 1's contexts: the better of (0, 2) and of (1, 3); a fifth row stands alone
    best = losses.best_of_pairs(torch.tensor([0.3, 0.25, 0.1, 0.01, 0.7]))
    assert torch.allclose(best, torch.tensor([0.1, 0.01, 0.7]))
    values = torch.tensor([0.3, 0.25, 0.1, 0.01], requires_grad=True)
    losses.best_of_pairs(values).sum().backward()
    assert values.grad.tolist() == [0.0, 0.0, 1.0, 1.0]          # only the nearer future is pulled to the real one


def test_photometric_loss_is_a_smooth_l1_per_clip():
    from hrvgan.losses import photometric_loss
    a = torch.zeros(2, 3, 2, 4, 4)
    b = a.clone()
    b[1] = 0.5                                                    # the second clip is off by 0.5 everywhere
    per_clip = photometric_loss(a, b, per_clip=True)
    assert per_clip.shape == (2,)
    assert per_clip[0] == pytest.approx(0.01) and per_clip[1] == pytest.approx(0.5, abs=1e-3)   # eps at 0, |d| beyond
    assert photometric_loss(a, b) == pytest.approx(per_clip.mean().item())
    b[1, :, :, 0, 0] = 10.0                                       # one pixel that no flow can fetch costs linearly
    assert photometric_loss(a, b, per_clip=True)[1] < 0.5 + 10 / 16
