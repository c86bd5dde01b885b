"""The captured environment stores only values of a strict shape: nothing that names a person or a machine."""

from __future__ import annotations

import json
import os
import socket
import sys
import types

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from repro.environment import (
    ENV_ALLOW_LIST,
    ENV_SHAPES,
    KEY_PACKAGES,
    capture_environment,
    capture_environment_json,
    environment_changes,
    flatten,
    format_environment,
)

HIDDEN = "<set>"
THREADS = ("OMP_NUM_THREADS", "MKL_NUM_THREADS", "OPENBLAS_NUM_THREADS", "BLIS_NUM_THREADS",
           "VECLIB_MAXIMUM_THREADS", "NUMEXPR_NUM_THREADS")
SWITCHES = ("CUDA_LAUNCH_BLOCKING", "TF_DETERMINISTIC_OPS", "TF_CUDNN_DETERMINISTIC", "TF_CUDNN_USE_AUTOTUNE",
            "TF_ENABLE_ONEDNN_OPTS")

# Values that must never be stored, whatever the variable.
IDENTIFYING = [
    "GPU-8f2c3a4e-1b2c-4d5e-8f9a-0b1c2d3e4f5a",
    "MIG-5f4e3d2c-1b0a-4987-8654-3210fedcba98",
    "MIG-GPU-8f2c3a4e-1b2c-4d5e-8f9a-0b1c2d3e4f5a/1/0",
    "/home/alice/.cache/x",
    "C:\\Users\\bob",
    "~/x",
    "alice",
    "bob@example.org",
    "1 2",
    " 1",
    "1\n",
    "1" * 65,
    "\u0663",  # ARABIC-INDIC DIGIT THREE: a digit to \d, not to [0-9]
    "\uff11",  # FULLWIDTH DIGIT ONE
]

GOOD = {
    "PYTHONHASHSEED": ["0", "42", "4294967295", "random"],
    "CUBLAS_WORKSPACE_CONFIG": [":4096:8", ":16:8", ":16:8:4096:8"],
    "CUDA_VISIBLE_DEVICES": ["0", "0,1", "3,1,2", "-1", ""],
    "CUPY_SEED": ["0", "12345"],
    "PYTORCH_CUDA_ALLOC_CONF": ["expandable_segments:True", "max_split_size_mb:128",
                                "garbage_collection_threshold:0.6,max_split_size_mb:512", "backend:cudaMallocAsync",
                                "backend:native", "expandable_segments:False"],
    "KERAS_BACKEND": ["tensorflow", "jax", "torch", "numpy", "openvino"],
    **{name: ["1", "8", "4,2", "16,4,1"] for name in THREADS},
    **{name: ["0", "1", "true", "false", "True", "FALSE"] for name in SWITCHES},
}

BAD = {
    "PYTHONHASHSEED": ["-1", "0x10", "Random!", "12345678901"],
    "CUBLAS_WORKSPACE_CONFIG": ["4096:8", ":4096", ":4096:8:", ":a:8", "/tmp/:1:2"],
    "CUDA_VISIBLE_DEVICES": ["GPU-0", "MIG-1", "0,GPU-8f2c3a4e", "0,", ",0", "0, 1", "nvidia0"],
    "CUPY_SEED": ["-1", "1.5", "seed"],
    "PYTORCH_CUDA_ALLOC_CONF": ["alice:1", "max_split_size_mb:/home/alice", "backend:~/x",
                                "expandable_segments:True,", "max_split_size_mb: 128", "MAX_SPLIT_SIZE_MB:128",
                                "expandable_segments:yes", "max_split_size_mb:128,user@host:1"],
    "KERAS_BACKEND": ["Tensorflow", "my_backend", "torch2", "/opt/keras_backend.py"],
    **{name: ["-1", "1.5", "4,", "auto", "1,2,3,4,5,6,7,8,9", "12345"] for name in THREADS},
    **{name: ["2", "yes", "on", "tru", "fal\u017fe"] for name in SWITCHES},  # "ſ" folds to "s" without re.ASCII
}


def captured_env(monkeypatch, name: str, value: str) -> dict[str, str]:
    for other in ENV_ALLOW_LIST:
        monkeypatch.delenv(other, raising=False)
    monkeypatch.setenv(name, value)
    return capture_environment()["env"]


def test_every_allow_listed_variable_has_a_shape_and_good_and_bad_cases():
    assert tuple(ENV_SHAPES) == ENV_ALLOW_LIST
    assert set(GOOD) == set(BAD) == set(ENV_ALLOW_LIST)
    assert len(ENV_ALLOW_LIST) == len(set(ENV_ALLOW_LIST))


@pytest.mark.parametrize(("name", "value"), [(n, v) for n, values in GOOD.items() for v in values])
def test_a_value_of_the_variables_shape_is_stored_verbatim(monkeypatch, name, value):
    assert captured_env(monkeypatch, name, value) == {name: value}


@pytest.mark.parametrize(("name", "value"), [(n, v) for n, values in BAD.items() for v in values]
                         + [(n, v) for n in ENV_ALLOW_LIST for v in IDENTIFYING])
def test_any_other_value_is_stored_as_set(monkeypatch, name, value):
    assert captured_env(monkeypatch, name, value) == {name: HIDDEN}


def test_unset_variables_are_not_stored_and_a_change_to_set_is_visible(monkeypatch):
    before = {"env": captured_env(monkeypatch, "OMP_NUM_THREADS", "2")}
    assert before["env"] == {"OMP_NUM_THREADS": "2"}
    after = {"env": captured_env(monkeypatch, "CUDA_VISIBLE_DEVICES", "GPU-8f2c3a4e-1b2c")}
    assert environment_changes(before, after) == [("env.CUDA_VISIBLE_DEVICES", None, HIDDEN),
                                                  ("env.OMP_NUM_THREADS", "2", None)]


# What os.environ can hold: no NUL, no lone surrogates (not encodable to the OS).
ENV_TEXT = st.text(st.characters(blacklist_categories=("Cs",), blacklist_characters="\x00"), max_size=80)
SHAPED = st.sampled_from([v for values in GOOD.values() for v in values] + IDENTIFYING)


@settings(max_examples=200, deadline=None)
@given(st.fixed_dictionaries({name: st.one_of(ENV_TEXT, SHAPED) for name in ENV_ALLOW_LIST}))
def test_any_value_is_stored_only_in_its_shape_or_as_set(values):
    with pytest.MonkeyPatch.context() as mp:
        for name, value in values.items():
            mp.setenv(name, value)
        env = capture_environment()["env"]
    assert set(env) == set(ENV_ALLOW_LIST)
    for name, value in values.items():
        stored = env[name]
        assert stored == HIDDEN or (stored == value and ENV_SHAPES[name].fullmatch(value))
        assert stored == HIDDEN or (stored.isascii() and len(stored) <= 64 and not any(c.isspace() for c in stored))
        assert not set(stored) & set("/\\~@")


def test_secrets_host_and_user_never_appear(monkeypatch):
    planted = {
        "AWS_SECRET_ACCESS_KEY": "wJalrXUtnFEMIK7MDENGbPxRfiCYEXAMPLEKEY",
        "REPRO_TEST_SECRET_TOKEN": "s3cr3t-value",
        "HOSTNAME": "alices-laptop-7731",
        "USER": "alice_q_user",
        "LOGNAME": "alice_q_user",
        "HOME": "/home/alice_q_user",
    }
    for name, value in planted.items():
        monkeypatch.setenv(name, value)
    # The same values planted in the allow-listed variables are not stored either.
    for name, value in zip(ENV_ALLOW_LIST, list(planted.values()) * 3):
        monkeypatch.setenv(name, value)
    text = capture_environment_json()
    for value in planted.values():
        assert value not in text
    assert "/" not in text and "\\" not in text
    for real in (socket.gethostname(), os.path.expanduser("~")):
        if len(real) >= 4:  # a very short host name could be part of a CPU model by chance
            assert real not in text
    assert set(json.loads(text)["env"].values()) == {HIDDEN}


@pytest.mark.parametrize("version", ["2.4.6", "2.3.0+cu121", "0.1.dev3+g1a2b3c4", "1!2.0", "3.0.0rc1", "v1.2",
                                     "2024.2-Product", "1.0_post"])
def test_plain_versions_are_stored(monkeypatch, version):
    monkeypatch.setitem(sys.modules, "xgboost", types.SimpleNamespace(__version__=version))
    assert capture_environment()["packages"]["xgboost"] == version


@pytest.mark.parametrize("version", ["/home/alice/src/xgboost", "1.0+local/path", "C:\\Users\\bob\\lib", "alice",
                                     "1.0 dev", "~/x", "1.0@host", "\u0663.1", "1." + "0" * 40, ""])
def test_other_versions_are_stored_as_set(monkeypatch, version):
    monkeypatch.setitem(sys.modules, "xgboost", types.SimpleNamespace(__version__=version))
    assert capture_environment()["packages"]["xgboost"] == HIDDEN


def test_only_imported_key_packages_with_a_string_version_are_listed(monkeypatch):
    for name in KEY_PACKAGES:
        monkeypatch.delitem(sys.modules, name, raising=False)
    monkeypatch.setitem(sys.modules, "lightgbm", types.SimpleNamespace(__version__=(4, 1)))
    monkeypatch.setitem(sys.modules, "numba", types.SimpleNamespace())
    monkeypatch.setitem(sys.modules, "some_private_pkg", types.SimpleNamespace(__version__="1.0"))
    assert capture_environment()["packages"] == {}


def test_blas_keeps_no_paths_and_only_shaped_values(monkeypatch):
    info = [{"user_api": "blas", "internal_api": "openblas", "num_threads": 4, "version": "0.3.27",
             "prefix": "libopenblas", "filepath": "/home/alice/venv/lib/libopenblas.so",
             "threading_layer": "pthreads", "architecture": "Haswell"},
            {"user_api": "openmp", "internal_api": "openmp", "num_threads": "4", "version": "/opt/alice/omp",
             "filepath": "C:\\Users\\bob\\omp.dll", "architecture": "my arch"}]
    monkeypatch.setitem(sys.modules, "threadpoolctl", types.SimpleNamespace(threadpool_info=lambda: info))
    assert capture_environment()["blas"] == [
        {"user_api": "blas", "internal_api": "openblas", "num_threads": 4, "version": "0.3.27",
         "threading_layer": "pthreads", "architecture": "Haswell"},
        {"user_api": "openmp", "internal_api": "openmp", "num_threads": HIDDEN, "version": HIDDEN,
         "architecture": HIDDEN},
    ]


def fake_torch(cuda_version):
    return types.SimpleNamespace(
        get_num_threads=lambda: 3, are_deterministic_algorithms_enabled=lambda: True,
        backends=types.SimpleNamespace(cudnn=types.SimpleNamespace(deterministic=1, benchmark=0)),
        version=types.SimpleNamespace(cuda=cuda_version), cuda=types.SimpleNamespace(is_initialized=lambda: False),
        __version__="2.3.0+cu121")


@pytest.mark.parametrize(("cuda", "stored"), [("12.1", "12.1"), (None, None), ("/usr/local/cuda-alice", HIDDEN)])
def test_torch_flags_and_cuda_version_without_initializing_cuda(monkeypatch, cuda, stored):
    monkeypatch.setitem(sys.modules, "threadpoolctl", types.SimpleNamespace(threadpool_info=list))
    monkeypatch.setitem(sys.modules, "torch", fake_torch(cuda))
    env = capture_environment()
    assert env["torch"] == {"threads": 3, "deterministic_algorithms": True, "cudnn_deterministic": True,
                            "cudnn_benchmark": False, "cuda": stored}
    assert env["packages"]["torch"] == "2.3.0+cu121"


def test_flatten_format_and_changes():
    env = {"python": "3.11.4", "packages": {"numpy": "2.4.6"}, "blas": [{"num_threads": 2}], "gpus": ["A", "B"],
           "env": {"CUDA_VISIBLE_DEVICES": HIDDEN}}
    assert flatten(env) == {"python": "3.11.4", "packages.numpy": "2.4.6", "blas[0].num_threads": "2",
                            "gpus[0]": "A", "gpus[1]": "B", "env.CUDA_VISIBLE_DEVICES": HIDDEN}
    assert format_environment(env).splitlines()[-1] == "env.CUDA_VISIBLE_DEVICES: <set>"
    assert environment_changes(env, {**env, "packages": {"numpy": "2.1.0"}}) == [("packages.numpy", "2.4.6", "2.1.0")]


def test_the_capture_is_json_and_has_its_fields():
    env = json.loads(capture_environment_json())
    assert {"python", "implementation", "os", "machine", "cpu", "cpu_count", "packages", "blas", "env"} <= set(env)
