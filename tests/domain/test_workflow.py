"""The one transition table: every state reachable, no dead state, clear refusals."""

from __future__ import annotations

from collections import deque

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from domain.workflow import (
    BY_EVENT,
    FORM_OF_EVENT,
    FORMS,
    NATIONAL_STATUS,
    NATIONAL_STATUS_NAMES,
    OPEN,
    PAUSED,
    RUNNING,
    TABLE,
    TERMINAL,
    Actor,
    InvalidTransition,
    State,
    find,
    national_status,
    national_status_label,
    target_of,
)

ALL_ACTORS = set(Actor)


def successors(state: State) -> set[State]:
    return {target_of(row, state) for row in TABLE if state in row.sources}


def test_every_state_is_reachable_from_draft() -> None:
    seen, todo = {State.DRAFT}, deque([State.DRAFT])
    while todo:
        for nxt in successors(todo.popleft()) - seen:
            seen.add(nxt)
            todo.append(nxt)
    assert seen == set(State)


def test_no_dead_state() -> None:
    """Every state that is not terminal leads somewhere new, and every state can reach an end."""
    for state in State:
        if state in TERMINAL:
            assert successors(state) == set(), f"terminal {state} has exits"
            continue
        assert successors(state) - {state}, f"{state} only loops on itself"
        seen, todo = {state}, deque([state])
        while todo:
            for nxt in successors(todo.popleft()) - seen:
                seen.add(nxt)
                todo.append(nxt)
        assert seen & TERMINAL, f"{state} can never finish"


def test_open_states_are_not_terminal() -> None:
    assert not OPEN & TERMINAL


@pytest.mark.parametrize(("event", "state", "actors"), [
    ("receive", State.DRAFT, {Actor.RECEIVER}),
    ("approve", State.PROCESSING, {Actor.APPROVER}),
    ("approve", State.AWAITING_APPROVAL, {Actor.PROCESSOR}),
    ("submit", State.SUBMITTED, {Actor.APPLICANT}),
    ("withdraw", State.APPROVED, {Actor.APPLICANT}),
    ("withdraw", State.RECEIVED, {Actor.APPLICANT}),
    ("fee_paid", State.PROCESSING, {Actor.APPLICANT}),
    ("resume", State.PROCESSING, {Actor.PROCESSOR}),
    ("fly", State.DRAFT, ALL_ACTORS),
])
def test_refusals(event: str, state: State, actors: set[Actor]) -> None:
    with pytest.raises(InvalidTransition):
        find(event, state, actors)


def test_signed_decisions_need_a_passkey() -> None:
    assert all(r.needs_passkey for r in BY_EVENT["approve"] + BY_EVENT["reject"])


@settings(max_examples=300, deadline=None)
@given(st.lists(st.sampled_from(sorted(BY_EVENT)), max_size=40))
def test_random_event_sequences_stay_in_the_table(events: list[str]) -> None:
    """Any sequence of events either follows the table or is refused: never an unknown state."""
    state = State.DRAFT
    for event in events:
        try:
            row = find(event, state, ALL_ACTORS)
        except InvalidTransition:
            continue
        assert state in row.sources
        state = target_of(row, state)
        assert state in State


def test_every_state_has_one_national_status() -> None:
    """One mapping (domain/workflow.py) gives each filed state its national portal code; all ten are used."""
    assert set(NATIONAL_STATUS) == set(State)
    assert national_status(State.DRAFT) is None and national_status_label("draft") == ""
    assert {c for c in NATIONAL_STATUS.values() if c is not None} == set(range(1, 11)) == set(NATIONAL_STATUS_NAMES)
    expected = {State.SUBMITTED: 1, State.RECEIVED: 2, State.REFUSED_AT_INTAKE: 3, State.PROCESSING: 4,
                State.SUPPLEMENT_REQUESTED: 5, State.FEE_REQUESTED: 6, State.WITHDRAWAL_REQUESTED: 7,
                State.STOPPED: 8, State.RESULT_ISSUED: 9, State.RETURNED: 10}
    assert {s: national_status(s) for s in expected} == expected
    assert national_status_label("stopped") == "8 — Dừng xử lý"


def test_forms_follow_circular_03_2025() -> None:
    """The events' forms use the numbering of Circular 03/2025/TT-VPCP: 05 is the notice of stopping, the
    control sheet of the hand-offs is 06 (the logbook, 07, is a unit's)."""
    assert sorted(FORMS) == ["01", "02", "03", "04", "05", "06", "07"]
    assert FORM_OF_EVENT == {"receive": "01", "receive_at_counter": "01", "request_supplement": "02",
                             "refuse_intake": "03", "apologize": "04", "stop": "05", "assign": "06", "route": "06"}
    assert FORMS["05"] == "Thông báo dừng giải quyết hồ sơ" and FORMS["07"] == "Sổ theo dõi hồ sơ"


def test_the_clock_stops_only_in_paused_states_and_apologies_need_it_running() -> None:
    assert {State.SUPPLEMENT_REQUESTED, State.FEE_REQUESTED, State.STOPPED} == PAUSED
    assert not RUNNING & PAUSED and State.WITHDRAWAL_REQUESTED not in RUNNING
    assert BY_EVENT["apologize"][0].sources == RUNNING
    # a received dossier is asked to be withdrawn; an officer accepts it
    with pytest.raises(InvalidTransition):
        find("withdraw", State.PROCESSING, {Actor.APPLICANT})
    assert find("request_withdrawal", State.PROCESSING, {Actor.APPLICANT}).target == State.WITHDRAWAL_REQUESTED
    with pytest.raises(InvalidTransition):
        find("accept_withdrawal", State.WITHDRAWAL_REQUESTED, {Actor.APPLICANT})
    assert find("accept_withdrawal", State.WITHDRAWAL_REQUESTED, {Actor.RECEIVER}).target == State.WITHDRAWN
