package io.peft4j.core.io;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.WritableByteChannel;

/**
 * Where a tensor's bytes are: Java buffers (the heap, or windows of a memory-mapped file) or a live
 * NDArray. A {@link ByteBuffer} holds at most 2 GiB, so a large tensor is never one buffer: readers
 * ask for slices, writers stream, and NDArrays are assembled from windows.
 */
interface TensorBytes {
    long size();

    /** {@code length} bytes from {@code offset}, read-only and little-endian. */
    ByteBuffer slice(long offset, int length);

    /** Writes every byte, in order, without gathering them in one buffer first. */
    void writeTo(WritableByteChannel channel) throws IOException;
}
