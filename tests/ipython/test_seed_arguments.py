"""Seeds are written with the ASCII digits 0-9, and a bad one is a one-line UsageError that changes nothing."""

from __future__ import annotations

import pytest

from repro.seeding import SEED_LIMIT, check_seed

BAD_SEEDS = [
    "\u0663",  # ARABIC-INDIC DIGIT THREE: int() takes it
    "\uff14\uff12",  # FULLWIDTH 42
    "1_000",  # int() takes underscores
    "+5",
    "-5",
    "0x10",
    "4294967296",
    "99999999999999999999999",
    "9" * 5000,  # more digits than int() converts by default
    "1e3",
    "\x1b[31m1",
]


@pytest.mark.parametrize("text", BAD_SEEDS)
def test_check_seed_takes_ascii_digits_only(text):
    with pytest.raises(ValueError, match="seed must be") as info:
        check_seed(text)
    message = str(info.value)
    assert "\n" not in message and len(message) < 120


@pytest.mark.parametrize("text, seed", [("0", 0), ("007", 7), (" 42 ", 42), (str(SEED_LIMIT - 1), SEED_LIMIT - 1),
                                        ("0" * 50 + "1", 1)])
def test_check_seed_accepts_plain_numbers(text, seed):
    assert check_seed(text) == seed


def test_check_seed_accepts_ints():
    assert check_seed(5) == 5
    with pytest.raises(ValueError, match="between 0 and"):
        check_seed(-1)
    with pytest.raises(ValueError, match="between 0 and"):
        check_seed(SEED_LIMIT)


@pytest.mark.parametrize("text", BAD_SEEDS)
def test_a_bad_seed_is_a_one_line_usage_error_that_changes_nothing(shell, text):
    shell.out("%seed 7")
    state = (shell.repro.state.mode, shell.repro.state.base)
    for line in (f"%seed {text}", f"%seed {text} --once"):
        result, out, err = shell.run(line)
        assert not result.success
        message = (out + err).strip()
        assert message.startswith("UsageError: seed: seed must be"), message
        assert "Traceback" not in message and len(message.splitlines()) == 1 and len(message) < 160
        assert (shell.repro.state.mode, shell.repro.state.base) == state


@pytest.mark.parametrize("line", ['%seed "', "%seed '5", '%%deterministic --seed "\nx = 1', "%repro log '"])
def test_an_unclosed_quote_is_a_one_line_usage_error(shell, line):
    result, out, err = shell.run(line)
    assert not result.success
    message = (out + err).strip()
    assert message.startswith("UsageError:") and "closing quotation" in message
    assert "Traceback" not in message and len(message.splitlines()) == 1
