import string
import sys


def read_words(text):
    words = []
    word = ""
    for letter in text:
        if letter in string.ascii_letters:
            word = word + letter
        elif len(word) > 0:
            words.append(word.lower())
            word = ""
    if len(word) > 0:
        words.append(word.lower())
    return words


def count_words(words):
    counts = {}
    for word in words:
        try:
            counts[word] += 1
        except KeyError:
            counts[word] = 1
    return counts


def top_words(counts, n):
    pairs = []
    for word in counts:
        pairs.append([counts[word], word])
    # selection sort: biggest count first, then smallest word
    for i in range(len(pairs)):
        best = i
        for j in range(i + 1, len(pairs)):
            if pairs[j][0] > pairs[best][0]:
                best = j
            elif pairs[j][0] == pairs[best][0] and pairs[j][1] < pairs[best][1]:
                best = j
        pairs[i], pairs[best] = pairs[best], pairs[i]
    top = []
    for count, word in pairs[:n]:
        top.append((word, count))
    return top


def average_length(words):
    if words == []:
        return 0.0
    total = 0
    for word in words:
        total = total + len(word)
    return float(total) / len(words)


def main():
    text = sys.stdin.read()
    words = read_words(text)
    for word, count in top_words(count_words(words), 10):
        print(f"{word}: {count}")
    print(f"average length: {average_length(words):.2f}")


if __name__ == "__main__":
    main()
