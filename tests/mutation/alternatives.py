"""Correct solutions written differently from the instructor's: loops instead of vector
operations, ``np.dot`` for ``@``, other names, other but equal formulas. Each must score full
marks: a grader that fails them would punish students for style.

``ALTERNATIVES[assignment][grade_id]`` is the code of a whole solution cell.
"""

A1 = {
    "neuron": """
def step(z):
    out = np.zeros_like(z, dtype=float)
    out[z > 0] = 1
    return out


def threshold_neuron(X, w, b):
    sums = np.array([sum(xj * wj for xj, wj in zip(row, w)) + b for row in X])
    return np.where(sums > 0, 1.0, 0.0)
""",
    "gates": """
def and_neuron():
    return np.array([2.0, 2.0]), np.float32(-3)  # "a number": any real dtype


def or_neuron():
    weights = np.ones(2)
    return weights, -0.9


def not_neuron():
    return np.array([-3.0]), 1


def nand_neuron():
    return np.array([-0.5, -0.5]), 0.75
""",
    "xor": """
def add_product_feature(X):
    out = np.empty((X.shape[0], 3))
    for i, (a, b) in enumerate(X):
        out[i] = (a, b, a * b)
    return out


def xor_feature_neuron():
    return np.array([2.0, 2.0, -4.0]), -1.0


def xor_two_layer_weights():
    hidden = np.array([[1.0, -1.0], [1.0, -1.0]])  # columns: OR, NAND
    return hidden, np.array([-0.5, 1.5]), np.array([1.0, 1.0]), -1.5  # output: AND of the two


def xor_with_feature(X):
    return threshold_neuron(add_product_feature(X), *xor_feature_neuron())


def xor_two_layer(X):
    W1, b1, w2, b2 = xor_two_layer_weights()
    hidden = np.column_stack([threshold_neuron(X, W1[:, j], b1[j]) for j in range(2)])
    return threshold_neuron(hidden, w2, b2)
""",
    "perceptron": """
def perceptron_update(w, b, x, y, lr):
    # w . x summed in another order than x @ w: on the threshold it must still be exactly -b
    prediction = step(np.array(np.sum(w * x) + b))
    delta = lr * (y - float(prediction))
    return w + delta * x, b + delta


def train_perceptron(X, y, lr=1.0, max_epochs=100):
    weights, bias, history = np.zeros(X.shape[1]), 0.0, []
    converged = False
    epoch = 0
    while epoch < max_epochs and not converged:
        count = 0
        for i in range(len(X)):
            new_w, new_b = perceptron_update(weights, bias, X[i], y[i], lr)
            if new_b != bias or np.any(new_w != weights):
                count += 1
            weights, bias = new_w, new_b
        history.append(count)
        converged = count == 0
        epoch += 1
    return weights, bias, history, converged
""",
}

A4 = {
    "linear": """
class Linear(Module):
    def __init__(self, in_features, out_features, seed=None):
        super().__init__()
        rng = np.random.default_rng(seed)
        bound = np.sqrt(6.0 / (in_features + out_features))
        self.weight = Parameter(rng.uniform(-bound, bound, (in_features, out_features)), "weight")
        self.bias = Parameter(np.zeros(out_features), "bias")

    def forward(self, inputs):
        self.inputs = inputs.copy()
        out = np.zeros((inputs.shape[0], self.weight.value.shape[1]))
        for n in range(inputs.shape[0]):
            out[n] = np.dot(inputs[n], self.weight.value) + self.bias.value
        return out

    def backward(self, grad_out):
        W = self.weight.value
        self.weight.grad = self.weight.grad + np.dot(self.inputs.T, grad_out)
        for n in range(grad_out.shape[0]):
            self.bias.grad = self.bias.grad + grad_out[n]
        return np.dot(grad_out, W.T)
""",
    "activations": """
class ReLU(Module):
    def forward(self, X):
        self.mask = (X > 0).astype(float)
        return X * self.mask

    def backward(self, grad_out):
        return np.where(self.mask > 0, grad_out, 0.0)


class Sigmoid(Module):
    def forward(self, X):
        # the stable two-branch form: never exponentiates a large positive number
        out = np.empty_like(X)
        pos = X >= 0
        out[pos] = 1 / (1 + np.exp(-X[pos]))
        e = np.exp(X[~pos])
        out[~pos] = e / (1 + e)
        self.x = X
        return out

    def backward(self, grad_out):
        s = self.forward(self.x)
        return grad_out * s * (1 - s)


class Tanh(Module):
    def forward(self, X):
        e2 = np.exp(-2 * np.abs(X))
        self.t = np.sign(X) * (1 - e2) / (1 + e2)
        return self.t

    def backward(self, grad_out):
        return grad_out - grad_out * self.t * self.t
""",
    "softmax_ce": """
class SoftmaxCrossEntropy:
    def forward(self, logits, labels):
        N = len(labels)
        total = 0.0
        self.p = np.zeros_like(logits)
        for i in range(N):
            z = logits[i] - np.max(logits[i])
            lse = np.log(np.sum(np.exp(z)))
            total += lse - z[labels[i]]
            self.p[i] = np.exp(z - lse)
        self.y = labels
        return total / N

    def backward(self):
        onehot = np.eye(self.p.shape[1])[self.y]
        return (self.p - onehot) / self.p.shape[0]
""",
    "dropout": """
class Dropout(Module):
    def __init__(self, p=0.5, seed=None):
        super().__init__()
        self.p = p
        self.rng = np.random.default_rng(seed)
        self.mask = None

    def forward(self, X):
        if self.training and self.p > 0:
            u = self.rng.random(X.shape)
            self.mask = np.where(u >= self.p, 1.0 / (1.0 - self.p), 0.0)
        else:
            self.mask = np.ones_like(X)
        return X * self.mask

    def backward(self, grad_out):
        return self.mask * grad_out
""",
}

A2 = {
    "losses": """
def mse(predictions, targets):
    total = 0.0
    for p, t in zip(predictions, targets):
        total += (p - t) * (p - t)
    return total / len(targets)


def mse_grad(predictions, targets):
    return np.array([2 * (p - t) / len(targets) for p, t in zip(predictions, targets)])


def mae(predictions, targets):
    return float(np.abs(predictions - targets).sum() / predictions.size)


def mae_grad(predictions, targets):
    residual = predictions - targets
    return np.where(residual > 0, 1.0, -1.0) / residual.size
""",
    "normal_equation": """
def normal_equation(X, y):
    return np.dot(np.linalg.inv(np.dot(X.T, X)), np.dot(X.T, y))
""",
    "gradient_descent": """
def gradient_descent(X, y, lr, num_epochs):
    n, d = X.shape
    weights = np.zeros(d)
    epoch = 0
    while epoch < num_epochs:
        residual = np.dot(X, weights) - y
        weights -= lr * 2 / n * np.dot(X.T, residual)
        epoch += 1
    return weights
""",
    "sigmoid_logloss": """
def sigmoid(z):
    out = np.empty_like(z, dtype=float)
    pos = z >= 0
    out[pos] = 1 / (1 + np.exp(-z[pos]))
    ez = np.exp(z[~pos])
    out[~pos] = ez / (1 + ez)
    return out


def log_loss(z, y):
    # -[y log s + (1 - y) log(1 - s)] with log s = -softplus(-z), log(1 - s) = -softplus(z)
    softplus = lambda t: np.logaddexp(0, t)  # noqa: E731
    return float(np.mean(y * softplus(-z) + (1 - y) * softplus(z)))


def log_loss_grad(z, y):
    n = len(z)
    return np.array([(sigmoid(np.array([zi]))[0] - yi) / n for zi, yi in zip(z, y)])
""",
    "train_logistic": """
def train_logistic_regression(X, y, lr, num_epochs):
    weights, intercept = np.zeros(X.shape[1]), 0
    for epoch in range(num_epochs):
        error = sigmoid(np.dot(X, weights) + intercept) - y
        weights = weights - lr * np.dot(X.T, error) / len(y)
        intercept = intercept - lr * error.mean()
    return weights, float(intercept)
""",
}

VALUE_ALTERNATIVE = r"""
class Value:
    # a scalar node, with other but equal local derivatives and Kahn's algorithm in backward()

    def __init__(self, data, _children=(), _op=""):
        self.data = float(data)
        self.grad = 0.0
        self._backward = lambda: None
        self._prev = tuple(_children)
        self._op = _op

    def __repr__(self):
        return f"Value(data={self.data:.4g}, grad={self.grad:.4g})"

    def __add__(self, other):
        other = other if isinstance(other, Value) else Value(other)
        out = Value(self.data + other.data, (self, other), "+")

        def _backward():
            for operand in (self, other):
                operand.grad = operand.grad + 1.0 * out.grad

        out._backward = _backward
        return out

    def __mul__(self, other):
        other = other if isinstance(other, Value) else Value(other)
        out = Value(self.data * other.data, (self, other), "*")

        def _backward():
            a, b = self.data, other.data
            self.grad += out.grad * b
            other.grad += out.grad * a

        out._backward = _backward
        return out

    def __pow__(self, k):
        out = Value(self.data**k, (self,), f"**{k}")

        def _backward():
            self.grad += out.grad * k * out.data / self.data if self.data != 0 else 0.0

        out._backward = _backward
        return out

    def exp(self):
        out = Value(math.exp(self.data), (self,), "exp")

        def _backward():
            self.grad += math.exp(self.data) * out.grad

        out._backward = _backward
        return out

    def tanh(self):
        out = Value(math.tanh(self.data), (self,), "tanh")

        def _backward():
            self.grad += out.grad / math.cosh(self.data) ** 2

        out._backward = _backward
        return out

    def sigmoid(self):
        x = self.data
        s = 1.0 / (1.0 + math.exp(-x)) if x >= 0 else math.exp(x) / (1.0 + math.exp(x))
        out = Value(s, (self,), "sigmoid")

        def _backward():
            self.grad += out.grad * out.data * (1 - out.data)

        out._backward = _backward
        return out

    def relu(self):
        out = Value(max(0.0, self.data), (self,), "relu")

        def _backward():
            if out.data > 0:
                self.grad += out.grad

        out._backward = _backward
        return out

    def backward(self):
        # fill .grad of every node of the graph with d(self)/d(node)
        # Kahn's algorithm: a node is ready once every node that uses it is done
        users, stack, seen = {}, [self], {id(self)}
        while stack:
            node = stack.pop()
            for child in node._prev:
                users[id(child)] = users.get(id(child), 0) + 1
                if id(child) not in seen:
                    seen.add(id(child))
                    stack.append(child)
        self.grad = 1.0
        ready = [self]
        while ready:
            node = ready.pop()
            node._backward()
            for child in set(node._prev):
                users[id(child)] -= node._prev.count(child)
                if users[id(child)] == 0:
                    ready.append(child)

    # built from the operations above
    def __neg__(self):
        return self * -1

    def __sub__(self, other):
        return self + (-other)

    def __truediv__(self, other):
        return self * other**-1

    def __radd__(self, other):
        return self + other

    def __rmul__(self, other):
        return self * other

    def __rsub__(self, other):
        return Value(other) + (-self)"""

A3 = {"value": VALUE_ALTERNATIVE}

A5 = {
    "layers": """
class Linear(Module):
    def __init__(self, in_features, out_features, seed=None):
        super().__init__()
        rng = np.random.default_rng(seed)
        bound = np.sqrt(6.0 / (in_features + out_features))
        self.weight = Parameter(rng.uniform(-bound, bound, (in_features, out_features)), "weight")
        self.bias = Parameter(np.zeros(out_features), "bias")

    def forward(self, inputs):
        self.inputs = inputs
        return np.dot(inputs, self.weight.value) + self.bias.value[None, :]

    def backward(self, grad_out):
        np.add(self.weight.grad, np.dot(self.inputs.T, grad_out), out=self.weight.grad)
        self.bias.grad += np.sum(grad_out, axis=0)
        return np.dot(grad_out, self.weight.value.T)


class ReLU(Module):
    def forward(self, X):
        self.X = X
        return np.maximum(0, X)

    def backward(self, grad_out):
        return np.where(self.X > 0, grad_out, 0)
""",
    "mlp": """
class MLP(Module):
    def __init__(self, sizes, seed=None):
        super().__init__()
        rng = np.random.default_rng(seed)
        pairs = list(zip(sizes[:-1], sizes[1:]))
        self.layers = []
        for d, h in pairs[:-1]:
            self.layers += [Linear(d, h, seed=rng), ReLU()]
        self.layers.append(Linear(*pairs[-1], seed=rng))

    def forward(self, X):
        out = X
        for k in range(len(self.layers)):
            out = self.layers[k](out)
        return out

    def backward(self, grad_out):
        grad = grad_out
        for layer in self.layers[::-1]:
            grad = layer.backward(grad)
        return grad
""",
    "sgd": """
class SGD(Optimizer):
    def __init__(self, params, lr, momentum=0.0, weight_decay=0.0):
        super().__init__(params)
        self.lr = lr
        self.momentum = momentum
        self.weight_decay = weight_decay
        # the other common convention: the velocity holds the step itself, v = mu v - lr g
        self.steps = [np.zeros_like(p.value) for p in self.params]

    def step(self):
        for i, param in enumerate(self.params):
            grad = param.grad + self.weight_decay * param.value
            self.steps[i] = self.momentum * self.steps[i] - self.lr * grad
            param.value += self.steps[i]
""",
}

ALTERNATIVES: dict[str, dict[str, str]] = {
    "a1_neurons": A1,
    "a2_regression": A2,
    "a3_autograd": A3,
    "a4_layers": A4,
    "a5_mlp": A5,
}
