package io.peft4j.core.io;

import ai.djl.ndarray.types.DataType;

/** Element types of the safetensors format, with their byte widths and DJL equivalents. */
public enum DType {
    F64(8, DataType.FLOAT64),
    F32(4, DataType.FLOAT32),
    F16(2, DataType.FLOAT16),
    BF16(2, DataType.BFLOAT16),
    I64(8, DataType.INT64),
    I32(4, DataType.INT32),
    I16(2, DataType.INT16),
    I8(1, DataType.INT8),
    U8(1, DataType.UINT8),
    BOOL(1, DataType.BOOLEAN);

    private final int byteSize;
    private final DataType djlType;

    DType(int byteSize, DataType djlType) {
        this.byteSize = byteSize;
        this.djlType = djlType;
    }

    public int byteSize() {
        return byteSize;
    }

    public DataType toDataType() {
        return djlType;
    }

    /** The safetensors dtype for a DJL data type. */
    public static DType of(DataType dataType) {
        for (DType d : values()) {
            if (d.djlType == dataType) {
                return d;
            }
        }
        throw new IllegalArgumentException("No safetensors dtype for DJL data type " + dataType);
    }

    /** Parses a dtype as written in a safetensors header, or returns null when unknown. */
    public static DType parse(String name) {
        for (DType d : values()) {
            if (d.name().equals(name)) {
                return d;
            }
        }
        return null;
    }
}
