def add(a, b):
    return a + b


def mean(values):
    return sum(values) / len(values)


def median(values):
    # Forgot to sort, and to average the middle pair.
    return values[len(values) // 2]
