"""Generators holding fresh entropy: records keep no digests of them, only whether a cell drew."""

from __future__ import annotations

import json
import random

import numpy as np


def _last_record(shell):
    return json.loads(shell.out("%repro log --json"))[-1]


def test_an_unseeded_generator_has_no_digests_until_the_user_seeds_it(shell):
    shell.out("%seed --off")
    shell.out("random.seed()")  # fresh entropy, whatever ran before
    shell.out("a = random.random()")
    assert _last_record(shell)["backends"]["random"] == {"before": None, "after": None, "consumed": True}
    shell.out("random.seed(5)")
    seeded = _last_record(shell)["backends"]["random"]
    assert seeded["before"] is None and seeded["after"] is not None and seeded["consumed"] is True
    shell.out("b = random.random()")
    drew = _last_record(shell)["backends"]["random"]
    assert drew["before"] == seeded["after"] and drew["after"] not in (None, drew["before"])
    shell.out("np.random.seed()")
    shell.out("np.random.seed(None)\nc = np.random.rand()")
    assert _last_record(shell)["backends"]["numpy"] == {"before": None, "after": None, "consumed": True}


def test_seeding_by_repro_ends_the_entropy(shell):
    shell.out("%seed --off")
    shell.out("np.random.seed()")
    shell.out("%seed 3")
    shell.out("c = np.random.rand()")
    backends = _last_record(shell)["backends"]
    assert backends["numpy"]["before"] is not None and backends["numpy"]["consumed"] is True
    assert backends["random"]["after"] is not None


def test_the_seeding_functions_are_put_back_on_unload(shell):
    assert getattr(random.seed, "_repro_watched", False) and getattr(np.random.seed, "_repro_watched", False)
    shell.out("%unload_ext repro")
    try:
        assert not getattr(random.seed, "_repro_watched", False)
        assert not getattr(np.random.seed, "_repro_watched", False)
        assert random.seed.__name__ == "seed" and np.random.seed.__doc__
    finally:
        shell.out("%load_ext repro")
