import greet


def test_greeting():
    assert greet.greeting("Ada") == "Hello, Ada!"


def test_shout():
    assert greet.greeting("ada", shout=True) == "HELLO, ADA!"


def test_count_words():
    assert greet.count_words("one two three") == 3
