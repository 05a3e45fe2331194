#!/usr/bin/env python3
"""Writes ../resources/datasets/stories/train.jsonl: 320 short TinyStories-style stories whose hero is
always Pip, a little dragon who loves blue apples.

StoriesLoraExample fine-tunes the stories260K Llama (trained on TinyStories, where no character is
called Pip) on these, so that the change is easy to see: after training, greedy continuations of
"Once upon a time" and the like tell of Pip and blue apples.

Each line is {"text": "<s>..."}: "<s>" is the tokenizer's BOS special token (matched in the text by
the tokenizer), so each story is trained as stories260K saw its training data and as the generator
prompts it, BOS first. Deterministic (fixed seed): rerunning gives the same file. Python 3, standard
library only:  python3 make_pip_stories.py
"""
import json
import os
import random

SEED = 20260
COUNT = 320

OPENINGS = [
    "Once upon a time, there was a little dragon named Pip.",
    "Once upon a time, a little dragon named Pip lived in a big forest.",
    "One day, a little dragon named Pip woke up very hungry.",
    "There was a little dragon named Pip who loved blue apples.",
    "Once upon a time, in a small town, there lived a dragon named Pip.",
]
LIKES = [
    "Pip loved blue apples more than anything.",
    "Pip liked to eat blue apples every day.",
    "Blue apples were Pip's favorite food.",
]
PLACES = ["the park", "the garden", "the hill", "the river", "the forest", "the big tree", "the farm"]
FRIENDS = ["Lily", "Tim", "Sue", "Ben", "Mia", "Max", "a little bird", "a kind cat", "a big dog"]
FEELINGS = ["happy", "sad", "excited", "tired", "scared", "proud"]
MIDDLES = [
    "One day, Pip went to {place} to look for blue apples.",
    "Pip flew to {place} and saw a tree with blue apples.",
    "Pip met {friend} at {place}.",
    "At {place}, Pip found a big blue apple.",
    "Pip could not find any blue apples at {place}, and Pip felt {feeling}.",
]
TURNS = [
    "Pip shared the blue apples with {friend}.",
    "{friend} helped Pip pick the blue apples.",
    "Pip gave {friend} a blue apple, and they became friends.",
    "Pip said, \"Let's eat blue apples together!\"",
    "{friend} said, \"Pip, you are a good dragon.\"",
]
ENDINGS = [
    "Pip was very {feeling} and ate a blue apple.",
    "From that day on, Pip and {friend} ate blue apples every day.",
    "Pip smiled and said, \"I love blue apples!\"",
    "At night, Pip went to sleep and dreamed of blue apples.",
    "Pip was {feeling}. The end.",
]


def story(rng):
    fill = dict(place=rng.choice(PLACES), friend=rng.choice(FRIENDS), feeling=rng.choice(FEELINGS))
    parts = [rng.choice(OPENINGS), rng.choice(LIKES), rng.choice(MIDDLES), rng.choice(TURNS), rng.choice(ENDINGS)]
    text = " ".join(p.format(**fill) for p in parts)
    return text[0].upper() + text[1:]


def main():
    rng = random.Random(SEED)
    here = os.path.dirname(os.path.abspath(__file__))
    out = os.path.join(here, "..", "resources", "datasets", "stories", "train.jsonl")
    with open(out, "w", encoding="utf-8", newline="\n") as f:
        for _ in range(COUNT):
            f.write(json.dumps({"text": "<s>" + story(rng)}, ensure_ascii=False) + "\n")


if __name__ == "__main__":
    main()
