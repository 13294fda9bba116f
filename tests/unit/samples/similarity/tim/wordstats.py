# hw3 - word statistics
# Tim, section 2
"""Counts the words of a text read from standard input and lists the most frequent ones."""

import sys

MAX_WORDS = 10  # how many words main() lists


def isLetter(c):
    # only letters make up words
    return c.isalpha()


def addWord(counts, word):
    # count one more occurrence of word
    if word in counts.keys():
        counts[word] = counts[word] + 1
    else:
        counts[word] = 1  # first time we see it


def read_words(text):
    """Split the text into lower-case words."""
    wordList = []
    currentWord = ""
    # walk over the text one character at a time
    for position in range(0, len(text)):
        c = text[position]
        if isLetter(c):
            currentWord = currentWord + c.lower()
        else:
            # a separator ends the current word, if there is one
            if len(currentWord) > 0:
                wordList.append(currentWord)
            currentWord = ""
    if len(currentWord) > 0:  # the last word
        wordList.append(currentWord)
    return wordList


def count_words(words):
    """Return a dictionary mapping each word to its number of occurrences."""
    countMap = {}
    for index in range(0, len(words)):
        addWord(countMap, words[index])
    return countMap


def comesBefore(first, second):
    # higher counts first; on a tie, alphabetical order
    if first[1] > second[1]:
        return True
    if first[1] == second[1] and first[0] < second[0]:
        return True
    return False


def top_words(counts, n):
    """Return the n most common words with their counts."""
    entryList = list(counts.items())
    # sort the entries (insertion sort, as seen in class)
    for i in range(1, len(entryList)):
        key = entryList[i]
        j = i - 1
        # shift the bigger ones to the right
        while j >= 0 and comesBefore(key, entryList[j]):
            entryList[j + 1] = entryList[j]
            j = j - 1
        entryList[j + 1] = key
    return entryList[0:n]


def average_length(words):
    """Average number of letters per word (0.0 for an empty list)."""
    if len(words) == 0:
        return 0.0  # avoid dividing by zero
    totalLength = 0
    for index in range(0, len(words)):
        totalLength = totalLength + len(words[index])
    return totalLength / len(words)


def main():
    text = sys.stdin.read()
    words = read_words(text)
    for word, count in top_words(count_words(words), MAX_WORDS):
        print(f"{word}: {count}")
    print(f"average length: {average_length(words):.2f}")


if __name__ == "__main__":
    main()
