"""Word statistics (hw3).

Fill in the four functions below. Keep their names and arguments: the grader calls them.
Run it as:  python wordstats.py < some-text.txt
"""

import sys

MAX_WORDS = 10


def isLetter(c):
    return c.isalpha()


def addWord(counts, word):
    if word in counts.keys():
        counts[word] = counts[word] + 1
    else:
        counts[word] = 1


def read_words(text):
    """The words of `text`, lower-case: runs of letters; anything else separates them."""
    wordList = []
    currentWord = ""
    for position in range(0, len(text)):
        c = text[position]
        if isLetter(c):
            currentWord = currentWord + c.lower()
        else:
            if len(currentWord) > 0:
                wordList.append(currentWord)
            currentWord = ""
    if len(currentWord) > 0:
        wordList.append(currentWord)
    return wordList


def count_words(words):
    """A dict: each word and how many times it occurs in `words`."""
    countMap = {}
    for index in range(0, len(words)):
        addWord(countMap, words[index])
    return countMap


def comesBefore(first, second):
    if first[1] > second[1]:
        return True
    if first[1] == second[1] and first[0] < second[0]:
        return True
    return False


def top_words(counts, n):
    """The `n` most frequent (word, count) pairs, most frequent first, ties alphabetically."""
    entryList = list(counts.items())
    # insertion sort
    for i in range(1, len(entryList)):
        key = entryList[i]
        j = i - 1
        while j >= 0 and comesBefore(key, entryList[j]):
            entryList[j + 1] = entryList[j]
            j = j - 1
        entryList[j + 1] = key
    return entryList[0:n]


def average_length(words):
    """The mean length of the words, 0.0 when there are none."""
    if len(words) == 0:
        return 0.0
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
