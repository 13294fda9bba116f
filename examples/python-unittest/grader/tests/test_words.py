import unittest

from conftest import points
from words import count_words, longest_word


class CountWords(unittest.TestCase):
    def test_a_sentence(self):
        self.assertEqual(count_words("the quick brown fox"), 4)

    @points(2)
    def test_tabs_newlines_and_runs_of_spaces(self):
        self.assertEqual(count_words("one\ttwo\nthree  four"), 4)

    def test_empty(self):
        self.assertEqual(count_words(""), 0)


@points(3)
class LongestWord(unittest.TestCase):
    def test_the_first_of_the_longest(self):
        self.assertEqual(longest_word("a bb cc d"), "bb")

    def test_none_for_no_words(self):
        self.assertIsNone(longest_word("   "))
