"""Mutants that survive the autograders because they are not bugs.

Keys are ``tools/nbmutate.py`` mutant keys (``cell:line:column:operator: before => after``,
line and column within the solution cell); each value says why the variant is still a correct
solution. ``tests/test_assignments.py`` fails if a mutant survives that is not listed here,
and if a listed one is no longer generated or no longer survives.
"""

_WEIGHTS = "another correct weight set, the assignment asks for any: "
_FLAT = (
    "`shape[-1]` instead of `shape[0]`: the same axis for the flat (N,) arrays the assignment "
    "specifies"
)
_KINK = (
    "the derivative at exactly x = 0, where ReLU has none (any value in [0, 1] is a "
    "subgradient); the checks keep inputs away from the kink, as the assignment says"
)

EQUIVALENT: dict[str, dict[str, str]] = {
    "a1_neurons": {
        "gates:9:21:constant+1: 1.0 => (2.0)": _WEIGHTS + "OR as [2 x1 + x2 - 1/2 > 0]",
        "gates:9:26:constant+1: 1.0 => (2.0)": _WEIGHTS + "OR as [x1 + 2 x2 - 1/2 > 0]",
        "gates:15:22:constant+1: 1.0 => (2.0)": _WEIGHTS + "NOT as [-2 x + 1/2 > 0]",
        "xor:11:32:constant+1: 2.0 => (3.0)": _WEIGHTS + "XOR as [x1 + x2 - 3 x1 x2 - 1/2 > 0]",
        "xor:18:20:constant+1: 1.0 => (2.0)": _WEIGHTS
        + "the hidden OR unit as [2 x1 + x2 - 1/2 > 0]",
        "xor:18:32:constant+1: 1.0 => (2.0)": _WEIGHTS
        + "the hidden OR unit as [x1 + 2 x2 - 1/2 > 0]",
        "xor:20:35:constant+1: 1.0 => (2.0)": _WEIGHTS
        + "the output unit as [OR - 2 AND - 1/2 > 0]",
    },
    "a2_regression": {
        "losses:9:39:constant-1: 0 => (-1)": _FLAT + " (mse_grad)",
        "losses:21:40:constant-1: 0 => (-1)": _FLAT + " (mae_grad)",
        "sigmoid_logloss:17:38:constant-1: 0 => (-1)": _FLAT + " (log_loss_grad)",
    },
    "a3_autograd": {
        "value:91:26:Gt->GtE: self.data > 0 => (self.data >= 0)": _KINK,
    },
    "a4_layers": {
        "activations:4:22:Gt->GtE: X > 0 => (X >= 0)": _KINK,
        "dropout:12:16:GtE->Gt: self.rng.random(X.shape) >= self.p => (self.rng.random(X.shape) > "
        "self.p)": "differs only when a uniform draw equals p exactly, an event of probability 0",
        "dropout:9:42:constant+1: 0 => (1)": (
            "`p == 1` instead of `p == 0` in the identity shortcut: p = 1 is not a valid drop "
            "probability, and with p = 0 the mask then drawn is all ones: the same output"
        ),
        "dropout:9:42:constant-1: 0 => (-1)": (
            "`p == -1` instead of `p == 0`: as above, p = -1 never occurs and p = 0 draws a mask "
            "of ones"
        ),
    },
    "a5_mlp": {
        "layers:26:22:Gt->GtE: X > 0 => (X >= 0)": _KINK,
    },
}
