package io.peft4j.core.model;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;

import ai.djl.ndarray.NDList;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.Shape;

import io.peft4j.core.Compute;

import org.junit.jupiter.api.Test;

/** The cache concatenates along positions, keeps its arrays across steps and frees them on close. */
class DynamicKeyValueCacheTest {
    @Test
    void appendsAlongPositionsAndSurvivesTheStepManager() {
        try (NDManager root = Compute.newManager()) {
            DynamicKeyValueCache cache = new DynamicKeyValueCache(root);
            try (NDManager step = root.newSubManager()) {
                NDList kv = cache.append(0, step.create(new float[] {1, 2, 3, 4}, new Shape(1, 1, 2, 2)),
                        step.create(new float[] {5, 6, 7, 8}, new Shape(1, 1, 2, 2)));
                assertEquals(new Shape(1, 1, 2, 2), kv.get(0).getShape());
            }
            assertEquals(2, cache.length());
            assertNull(cache.layer(1));
            try (NDManager step = root.newSubManager()) {
                NDList kv = cache.append(0, step.create(new float[] {9, 10}, new Shape(1, 1, 1, 2)),
                        step.create(new float[] {11, 12}, new Shape(1, 1, 1, 2)));
                assertArrayEquals(new float[] {1, 2, 3, 4, 9, 10}, kv.get(0).toFloatArray());
                assertArrayEquals(new float[] {5, 6, 7, 8, 11, 12}, kv.get(1).toFloatArray());
                // Anything computed from the lent concatenation belongs to the step.
                assertEquals(step, kv.get(0).add(1f).getManager());
            }
            assertEquals(3, cache.length());
            assertArrayEquals(new float[] {1, 2, 3, 4, 9, 10}, cache.layer(0).get(0).toFloatArray());
            assertEquals(2, root.getManagedArrays().size(), "only the cached keys and values remain");
            try (NDManager step = root.newSubManager()) {
                IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                        () -> cache.append(0, step.zeros(new Shape(1, 2, 1, 2)), step.zeros(new Shape(1, 2, 1, 2))));
                assertEquals(true, e.getMessage().contains("layer 0"), e.getMessage());
            }
            cache.close();
            assertEquals(0, root.getManagedArrays().size());
        }
    }
}
