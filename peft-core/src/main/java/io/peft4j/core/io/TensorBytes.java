package io.peft4j.core.io;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.WritableByteChannel;

/**
 * Where a tensor's bytes are: Java buffers, a region of an open safetensors file, or a live
 * NDArray. A {@link ByteBuffer} holds at most 2 GiB, so a large tensor is never one buffer: readers
 * ask for slices, writers stream, and NDArrays are assembled from windows.
 */
interface TensorBytes {
    long size();

    /** {@code length} bytes from {@code offset}, read-only and little-endian. */
    ByteBuffer slice(long offset, int length);

    /**
     * The bytes as buffers of at most {@code windowBytes} (a multiple of 8) that native code may read
     * while they are alive: never a view of a memory map, which a truncated file turns into SIGBUS.
     */
    default java.util.List<ByteBuffer> nativeWindows(long windowBytes) {
        java.util.List<ByteBuffer> out = new java.util.ArrayList<>();
        for (long at = 0; at < size() || out.isEmpty(); at += windowBytes) {
            ByteBuffer src = slice(at, (int) Math.min(windowBytes, size() - at));
            out.add(ByteBuffer.allocateDirect(src.remaining()).order(java.nio.ByteOrder.LITTLE_ENDIAN).put(src).flip());
        }
        return out;
    }

    /** Writes every byte, in order, without gathering them in one buffer first. */
    void writeTo(WritableByteChannel channel) throws IOException;
}
