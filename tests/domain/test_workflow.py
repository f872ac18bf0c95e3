"""The one transition table: every state reachable, no dead state, clear refusals."""

from __future__ import annotations

from collections import deque

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from domain.workflow import BY_EVENT, OPEN, TABLE, TERMINAL, Actor, InvalidTransition, State, find, target_of

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
