"""The lease's decisions (``acd.core.lease``): a leader may act only until its last good renewal's
send time plus ``lease - margin``; it never sleeps past that; epochs only grow."""

from __future__ import annotations

import pytest

from acd.core.lease import Lease, LeaseTimes
from acd.leadership import LAPSE_SLACK, standby_wait

TIMES = LeaseTimes(lease=3.0, renew=0.5, margin=1.0)


def test_a_standby_does_not_lead_and_tries_every_renew_period() -> None:
    lease = Lease(TIMES)
    assert not lease.leading(0.0)
    assert lease.wait(0.0) == 0.5
    assert not lease.overdue(100.0)


def test_a_leader_leads_until_lease_minus_margin_after_its_last_good_renewal() -> None:
    lease = Lease(TIMES)
    lease.won(1, sent=10.0)
    assert lease.leading(11.99)
    assert not lease.leading(12.0)
    assert lease.overdue(12.0)
    lease.renewed(sent=11.5)
    assert lease.leading(13.4) and not lease.leading(13.5)


def test_a_late_answer_to_an_older_renewal_never_moves_the_deadline_back() -> None:
    lease = Lease(TIMES)
    lease.won(1, sent=10.0)
    lease.renewed(sent=11.0)
    lease.renewed(sent=10.5)
    assert lease.deadline() == 13.0


def test_a_leader_never_sleeps_past_its_deadline_and_a_renewal_gets_what_is_left() -> None:
    lease = Lease(TIMES)
    lease.won(1, sent=10.0)
    assert lease.wait(10.0) == 0.5
    assert lease.wait(11.8) == pytest.approx(0.2)
    assert lease.budget(11.8) == pytest.approx(0.2)
    assert lease.wait(12.5) == 0.0


def test_epochs_only_grow_and_a_lost_lease_leaves_a_standby() -> None:
    lease = Lease(TIMES)
    lease.won(3, sent=0.0)
    lease.lost()
    assert not lease.leading(0.1)
    with pytest.raises(ValueError):
        lease.won(3, sent=1.0)
    lease.won(5, sent=1.0)
    assert lease.terms_won == 2 and lease.last_epoch == 5


@pytest.mark.parametrize(
    "times",
    [
        LeaseTimes(lease=3, renew=0.5, margin=3),
        LeaseTimes(lease=3, renew=0, margin=1),
        LeaseTimes(lease=3, renew=1.5, margin=1),
    ],
)
def test_figures_that_leave_no_room_to_renew_are_refused(times: LeaseTimes) -> None:
    with pytest.raises(ValueError):
        Lease(times)


# -- a leader alone (docs/standby.md, "Members"): no standby could take over, so it routes on --------------


def test_a_leader_alone_at_its_last_good_renewal_routes_on_past_its_deadline_unconfirmed() -> None:
    lease = Lease(TIMES)
    lease.won(1, sent=10.0, alone=True)
    assert lease.leading(12.0) and lease.leading(600.0)  # a PostgreSQL outage of any length
    assert not lease.overdue(600.0)
    # ... but past its deadline the lease is unconfirmed: no fencing token is written then
    assert lease.confirmed(11.99) and not lease.confirmed(12.0)
    assert lease.may_renew_lapsed()
    # it keeps trying every period, and a renewal may take more than what was left of the deadline
    assert lease.wait(600.0) == 0.5
    assert lease.budget(600.0) == 0.5 and lease.budget(10.0) == 2.0


def test_a_leader_that_saw_a_standby_steps_down_at_its_deadline_as_before() -> None:
    lease = Lease(TIMES)
    lease.won(1, sent=10.0, alone=True)
    lease.renewed(sent=10.5, alone=False)  # a standby's heartbeat was seen live at this renewal
    assert lease.leading(12.49) and not lease.leading(12.5)
    assert lease.overdue(12.5)
    assert not lease.may_renew_lapsed()
    assert lease.wait(12.3) == pytest.approx(0.2) and lease.budget(12.3) == pytest.approx(0.2)


def test_what_the_latest_good_renewal_saw_decides_and_a_late_older_answer_changes_nothing() -> None:
    lease = Lease(TIMES)
    lease.won(1, sent=10.0)  # a standby was there at the acquisition
    assert lease.overdue(12.0)
    lease.renewed(sent=11.0, alone=True)  # the standby left: alone now
    assert not lease.overdue(100.0)
    lease.renewed(sent=10.5, alone=False)  # an older renewal answering late: ignored
    assert lease.term is not None and lease.term.alone and lease.deadline() == 13.0
    lease.renewed(sent=100.0, alone=False)  # PostgreSQL is back and a standby too: the deadline rules again
    assert lease.confirmed(101.0) and lease.overdue(102.0)


def test_a_standby_sleeps_until_the_lease_lapses_when_that_comes_before_its_next_period() -> None:
    assert standby_wait(0.25, None) == 0.25  # nothing known: one period
    assert standby_wait(0.25, 3.0) == 0.25  # a live lease: the heartbeat every period goes on
    assert standby_wait(0.25, 0.1) == pytest.approx(0.1 + LAPSE_SLACK)  # right after it lapses
    assert standby_wait(0.25, -5.0) == LAPSE_SLACK  # lapsed already (lost to a race): never a busy loop


def test_the_defaults_take_over_within_3_s_and_let_the_leader_miss_several_renewals() -> None:
    times = LeaseTimes()
    assert not times.problems()
    assert times.lease + 0.5 < 3.0  # the lease, then a start well under a second (docs/standby.md, "Margins")
    assert times.step_down_after / times.renew >= 4  # a leader steps down only after several failed renewals
