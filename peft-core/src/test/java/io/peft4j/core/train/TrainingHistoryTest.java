package io.peft4j.core.train;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.peft4j.core.PeftModel;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.awt.image.BufferedImage;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

import javax.imageio.ImageIO;

/** The history files a run writes into its output directory. */
class TrainingHistoryTest {
    @TempDir
    Path dir;

    @Test
    void csvHasOneRowPerStepWithTheReportedLossesAndThePngDecodes() throws Exception {
        LinearRegression data = new LinearRegression(8, 3);
        List<Float> losses = new ArrayList<>();
        List<Float> rates = new ArrayList<>();
        Path out = dir.resolve("run");
        try (PeftModel m = LinearRegression.model(4)) {
            TrainingConfig cfg = TrainingConfig.builder().epochs(3).batchSize(4).learningRate(0.05f)
                    .progressBar(false).outputDir(out).build();
            new Trainer(m, new LinearRegression.MeanSquaredError(), cfg).addCallback(new TrainerCallback() {
                @Override
                public void afterOptimizerStep(StepContext s) {
                    losses.add(s.loss());
                    rates.add(s.learningRate());
                }
            }).fit(data.batches(), data.batches());
        }
        List<String> lines = Files.readAllLines(out.resolve("history.csv"));
        assertEquals("step,stage,epoch,loss,learning_rate,grad_norm,examples_per_second", lines.get(0));
        assertEquals(6, lines.size() - 1, "2 steps per epoch, 3 epochs");
        for (int i = 0; i < 6; i++) {
            String[] f = lines.get(i + 1).split(",");
            assertEquals(i + 1, Long.parseLong(f[0]));
            assertEquals("train", f[1]);
            assertEquals(i / 2 + 1, Integer.parseInt(f[2]));
            assertEquals(losses.get(i), Float.parseFloat(f[3]), "loss of step " + (i + 1));
            assertEquals(rates.get(i), Float.parseFloat(f[4]), "learning rate of step " + (i + 1));
            assertTrue(Double.parseDouble(f[5]) > 0 && Double.parseDouble(f[6]) > 0, lines.get(i + 1));
        }
        List<String> epochs = Files.readAllLines(out.resolve("epochs.csv"));
        assertEquals("epoch,stage,step,train_loss,eval_loss", epochs.get(0));
        assertEquals(4, epochs.size());
        assertEquals("3,train,6", epochs.get(3).substring(0, "3,train,6".length()));

        BufferedImage png = ImageIO.read(out.resolve("loss.png").toFile());
        assertNotNull(png, "loss.png decodes as an image");
        assertEquals(800, png.getWidth());
        assertEquals(500, png.getHeight());
    }
}
