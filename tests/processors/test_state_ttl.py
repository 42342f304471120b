"""A stage's state TTL (`Stage.state_ttl_ms`): the embedded runner forgets a key whose state was
last written longer ago than the TTL, in event time by the watermark, in the state file and in
memory; the recommender's shopper-keyed stages take theirs from the processors' settings."""

from __future__ import annotations

from pathlib import Path

from kartshoppe.events import Event, PageView, ProductView, Topic
from kartshoppe.processors import ProcessorConfig, default_processors
from kartshoppe.processors.model import Context, Processor, chain
from kartshoppe.processors.recommendations import LISTS, USERS
from tests.processors.processor_harness import Driver, Emitted

TTL_MS = 60_000


class ViewCounter(Processor[int]):
    """Counts each session's product views."""

    name = "view-counter"
    input_topics = (Topic.EVENTS.value,)

    def __init__(self, ttl_ms: int | None) -> None:
        self.ttl_ms = ttl_ms

    @property
    def state_ttl_ms(self) -> int | None:
        return self.ttl_ms

    def initial_state(self) -> int:
        return 0

    def key(self, event: Event) -> str | None:
        return event.session_id

    def on_event(self, state: int, event: Event, ctx: Context) -> int:
        return state + 1


def view(session: str, at_ms: int) -> ProductView:
    return ProductView(product_id="p1", session_id=session, timestamp=at_ms)


def test_a_key_idle_longer_than_the_ttl_is_forgotten_and_starts_again(tmp_path: Path) -> None:
    driver = Driver(ViewCounter(TTL_MS), tmp_path / "state.db")
    driver.feed(view("idle", 1_000), view("idle", 2_000), view("busy", 2_000))
    driver.feed(view("busy", TTL_MS))

    driver.feed(view("busy", TTL_MS + 5_000))

    assert driver.state("idle") is None
    assert driver.state("busy") == 3
    driver.feed(view("idle", TTL_MS + 6_000))
    assert driver.state("idle") == 1  # not 3: the cached state went with the stored one


def test_a_key_written_within_the_ttl_is_kept_across_a_restart(tmp_path: Path) -> None:
    driver = Driver(ViewCounter(TTL_MS), tmp_path / "state.db")
    driver.feed(view("s", 1_000))
    driver.feed(view("other", TTL_MS))
    driver.restart()

    driver.feed(view("s", TTL_MS + 500))

    assert driver.state("s") == 2


def test_an_expired_key_reads_as_new_before_a_sweep_removed_it_and_after_a_restart(
    tmp_path: Path,
) -> None:
    swept = Driver(ViewCounter(TTL_MS), tmp_path / "swept.db")
    swept.feed(view("s", 1_000), view("other", 3 * TTL_MS))
    swept.feed(view("s", 3 * TTL_MS + 1))
    resumed = Driver(ViewCounter(TTL_MS), tmp_path / "resumed.db")
    resumed.feed(view("s", 1_000))
    resumed.restart()  # resumed sweeps at other moments than the uninterrupted run
    resumed.feed(view("other", 3 * TTL_MS), view("s", 3 * TTL_MS + 1))

    assert swept.state("s") == resumed.state("s") == 1


def test_without_a_ttl_every_key_is_kept(tmp_path: Path) -> None:
    driver = Driver(ViewCounter(None), tmp_path / "state.db")
    driver.feed(view("idle", 1_000))

    driver.feed(view("busy", 100 * TTL_MS))

    assert driver.state("idle") == 1


def test_the_recommenders_shopper_stages_take_the_configured_ttl_and_no_other_stage_has_one() -> (
    None
):
    processors = default_processors(ProcessorConfig(shopper_state_ttl_ms=TTL_MS))

    with_ttl = {s.name for p in processors for s in chain(p) if s.state_ttl_ms is not None}
    assert with_ttl == {"recommendations", USERS, LISTS}
    assert {s.state_ttl_ms for p in processors for s in chain(p) if s.name in with_ttl} == {TTL_MS}


class ViewEcho(ViewCounter):
    """Counts each session's views and says the count on every view."""

    name = "view-echo"

    def on_event(self, state: int, event: Event, ctx: Context) -> int:
        count = state + 1
        ctx.emit(Topic.EVENTS.value, ctx.key, PageView(page=f"count={count}", timestamp=0))
        return count


def counts(emitted: list[Emitted]) -> list[str]:
    return [event.page for _, _, event in emitted if isinstance(event, PageView)]


def test_a_late_record_finds_the_same_state_whether_or_not_a_restart_swept_in_between(
    tmp_path: Path,
) -> None:
    late = view("s", TTL_MS + 500)  # before the watermark, after its key's TTL ran out there
    uninterrupted = Driver(ViewEcho(TTL_MS), tmp_path / "uninterrupted.db")
    seen = counts(uninterrupted.feed(view("s", 1_000), view("other", 3 * TTL_MS), late))
    resumed = Driver(ViewEcho(TTL_MS), tmp_path / "resumed.db")
    resumed.feed(view("s", 1_000), view("other", 3 * TTL_MS))
    resumed.restart()  # the commit before it swept the expired key from the state file

    assert counts(resumed.feed(late)) == seen[-1:] == ["count=1"]
