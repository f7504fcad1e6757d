"""Whether a Redis and a store are one cluster, and what a binding step may do."""

from __future__ import annotations

import pytest

from sluice.shared.cluster_id import Plan, new_cluster_id, plan_binding, refusal

REDIS = "redis://:redis-secret@10.0.0.5:6379/0"
STORE = "postgresql+psycopg://sluice:store-secret@10.0.0.6:5432/sluice"


def test_the_same_id_in_both_is_one_cluster() -> None:
    assert refusal("c1", "c1", REDIS, STORE) is None


@pytest.mark.parametrize(
    ("redis_id", "store_id", "says"),
    [
        (None, None, "bound to no cluster yet"),
        ("c1", None, "the store at postgresql+psycopg://sluice:***@10.0.0.6:5432/sluice belongs"),
        (None, "c1", "Redis at redis://:***@10.0.0.5:6379/0 belongs to no cluster"),
        ("c1", "c2", "belongs to cluster c1 and the store"),
    ],
)
def test_anything_else_is_refused_in_one_line_naming_both_urls_masked(
    redis_id: str | None, store_id: str | None, says: str
) -> None:
    line = refusal(redis_id, store_id, REDIS, STORE)
    assert line is not None and says in line
    assert "\n" not in line
    assert "redis://:***@10.0.0.5:6379/0" in line
    assert "postgresql+psycopg://sluice:***@10.0.0.6:5432/sluice" in line
    assert "secret" not in line


def test_a_refusal_says_how_to_get_out_of_it() -> None:
    assert "'sluice db upgrade'" in (refusal(None, None, REDIS, STORE) or "")
    for ids in (("c1", None), (None, "c1"), ("c1", "c2")):
        assert "'sluice cluster bind --force'" in (refusal(*ids, REDIS, STORE) or "")


def test_only_an_unbound_pair_makes_a_new_cluster() -> None:
    assert plan_binding(None, None) is Plan.NEW
    assert plan_binding("c1", "c1") is Plan.KEEP


@pytest.mark.parametrize("ids", [("c1", None), (None, "c1"), ("c1", "c2")])
def test_nothing_bound_elsewhere_is_taken_over_without_force(ids: tuple[str | None, ...]) -> None:
    assert plan_binding(*ids) is Plan.REFUSE
    assert plan_binding(*ids, force=True) is Plan.NEW


def test_a_fresh_store_never_joins_a_bound_redis_even_when_told_redis_is_new() -> None:
    # redis_is_new is for a Redis this process started empty; one holding an id is not new
    assert plan_binding("c1", None, redis_is_new=True) is Plan.REFUSE


def test_a_redis_started_empty_by_this_process_takes_the_store_id() -> None:
    assert plan_binding(None, "c1", redis_is_new=True) is Plan.ADOPT
    assert plan_binding(None, None, redis_is_new=True) is Plan.NEW


def test_cluster_ids_are_new_each_time() -> None:
    ids = {new_cluster_id() for _ in range(100)}
    assert len(ids) == 100
    assert all(len(i) == 16 and int(i, 16) >= 0 for i in ids)
