import greet


def test_greeting_trims_the_name():
    assert greet.greeting("  Grace \n") == "Hello, Grace!"


def test_count_words_of_nothing():
    assert greet.count_words("") == 0
