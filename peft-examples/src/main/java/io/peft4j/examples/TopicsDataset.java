package io.peft4j.examples;

import io.peft4j.core.data.TextClassificationData;
import io.peft4j.core.text.TextTokenizer;

import java.io.IOException;
import java.io.InputStream;
import java.util.List;

/**
 * The topic-classification set peft4j ships: 320 short English sentences written for this project,
 * 80 each about sports, technology, food and weather, split 240 train / 80 test (every fourth
 * sentence of each class is held out).
 */
public final class TopicsDataset {
    private static final String DIR = "datasets/topics/";

    private final TextClassificationData train;
    private final TextClassificationData test;

    private TopicsDataset(TextClassificationData train, TextClassificationData test) {
        this.train = train;
        this.test = test;
    }

    public static TopicsDataset load(TextTokenizer tokenizer) throws IOException {
        List<String> labels;
        try (InputStream in = open("train.jsonl")) {
            labels = TextClassificationData.labelsOf(in, DIR + "train.jsonl");
        }
        TextClassificationData train;
        TextClassificationData test;
        try (InputStream in = open("train.jsonl")) {
            train = TextClassificationData.readJsonl(in, DIR + "train.jsonl", labels, tokenizer);
        }
        try (InputStream in = open("test.jsonl")) {
            test = TextClassificationData.readJsonl(in, DIR + "test.jsonl", labels, tokenizer);
        }
        return new TopicsDataset(train, test);
    }

    private static InputStream open(String name) throws IOException {
        InputStream in = TopicsDataset.class.getClassLoader().getResourceAsStream(DIR + name);
        if (in == null) {
            throw new IOException("Dataset resource " + DIR + name + " is not on the classpath");
        }
        return in;
    }

    public TextClassificationData train() {
        return train;
    }

    public TextClassificationData test() {
        return test;
    }

    public List<String> labels() {
        return train.labelNames();
    }
}
