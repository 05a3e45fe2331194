package io.peft4j.core.io;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.index.NDIndex;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.channels.WritableByteChannel;

/**
 * The bytes of a live NDArray, read when asked for, a chunk at a time: a chunk is a slice of the
 * flattened array whose native memory is handed to the channel directly, so a checkpoint is written
 * without a copy of the weights on the Java heap. Every intermediate array (the flat view, chunks,
 * copies to the CPU or to contiguous memory) lives in a sub-manager closed after the read, never in
 * the array's own manager.
 */
final class ArrayBytes implements TensorBytes {
    static final long DEFAULT_CHUNK_BYTES = 64L * 1024 * 1024;

    private final NDArray array;
    private final int elementBytes;
    private final long chunkElements;

    ArrayBytes(NDArray array, long chunkBytes) {
        this.array = array;
        this.elementBytes = array.getDataType().getNumOfBytes();
        this.chunkElements = Math.max(1, chunkBytes / elementBytes);
    }

    NDArray array() {
        return array;
    }

    @Override
    public long size() {
        return array.size() * elementBytes;
    }

    @Override
    public ByteBuffer slice(long offset, int length) {
        if (offset < 0 || length < 0 || offset + length > size()) {
            throw new IndexOutOfBoundsException("bytes [" + offset + ", " + (offset + length) + ") of " + size());
        }
        ByteBuffer out = ByteBuffer.allocate(length);
        long first = offset / elementBytes;
        long end = (offset + length + elementBytes - 1) / elementBytes;
        try (NDManager scratch = array.getManager().newSubManager()) {
            NDArray flat = flat(scratch);
            for (long from = first; from < end && out.hasRemaining(); from += chunkElements) {
                long to = Math.min(end, from + chunkElements);
                ByteBuffer chunk = bytes(flat, from, to);
                long chunkStart = from * elementBytes;
                int skip = (int) Math.max(0, offset - chunkStart);
                chunk.position(skip);
                chunk.limit(Math.min(chunk.limit(), skip + out.remaining()));
                out.put(chunk);
            }
        }
        return out.flip().asReadOnlyBuffer().order(ByteOrder.LITTLE_ENDIAN);
    }

    @Override
    public void writeTo(WritableByteChannel channel) throws IOException {
        long n = array.size();
        try (NDManager scratch = array.getManager().newSubManager()) {
            NDArray flat = flat(scratch);
            for (long from = 0; from < n; from += chunkElements) {
                try (NDManager step = scratch.newSubManager()) {
                    NDArray part = flat.get(new NDIndex("{}:{}", from, Math.min(n, from + chunkElements)));
                    part.attach(step);
                    ByteBuffer b = part.toByteBuffer(true);
                    while (b.hasRemaining()) {
                        channel.write(b);
                    }
                }
            }
        }
    }

    /** The array as one dimension, owned by {@code scratch}. */
    private NDArray flat(NDManager scratch) {
        NDArray flat = array.reshape(-1);
        flat.attach(scratch);
        return flat;
    }

    /** Elements {@code [from, to)} as bytes copied to the heap; the chunk's arrays die with {@code flat}'s manager. */
    private static ByteBuffer bytes(NDArray flat, long from, long to) {
        NDArray part = flat.get(new NDIndex("{}:{}", from, to));
        ByteBuffer direct = part.toByteBuffer(true);
        ByteBuffer copy = ByteBuffer.allocate(direct.remaining());
        copy.put(direct).flip();
        part.close();
        return copy;
    }
}
