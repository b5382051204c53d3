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


def test_mse_and_combination_by_hand():
    a, b = torch.tensor([[1.0, 2.0]]), torch.tensor([[3.0, 2.0]])
    assert losses.mse_loss(a, b).item() == pytest.approx((4 + 0) / 2)
    assert losses.combined_loss(torch.tensor(4.0), torch.tensor(2.0)).item() == pytest.approx(0.5 * 4 + 0.5 * 2)
    assert losses.combined_loss(torch.tensor(4.0), torch.tensor(2.0), alpha=1, beta=0.1).item() == pytest.approx(4.2)


def test_mode_seeking_by_hand():
    a, b = torch.zeros(2, 3), torch.full((2, 3), 0.5)
    za, zb = torch.zeros(2, 4), torch.full((2, 4), 2.0)
    # ratio = 0.5 / 2 = 0.25 -> loss = 1 / 0.25 = 4
    assert losses.mode_seeking_loss(a, b, za, zb).item() == pytest.approx(4.0, rel=1e-4)
    # A generator that ignores z pays a lot more.
    assert losses.mode_seeking_loss(a, a, za, zb).item() > 1e4
