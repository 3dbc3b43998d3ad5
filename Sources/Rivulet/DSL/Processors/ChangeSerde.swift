import NIOCore

extension Serde {
    /// Table updates on a repartition topic (`KTable.groupBy`): a flags byte (1: new value
    /// present, 2: old value present), then the new value's length as a big-endian Int32 and its
    /// bytes, then the old value's bytes to the end.
    static func change<Value>(_ values: Serde<Value>) -> Serde<Change<Value>> where T == Change<Value> {
        Serde<Change<Value>>(
            serialize: { change, buffer in
                var flags: UInt8 = 0
                if change.newValue != nil { flags |= 1 }
                if change.oldValue != nil { flags |= 2 }
                buffer.writeInteger(flags)
                if let newValue = change.newValue {
                    let lengthIndex = buffer.writerIndex
                    buffer.writeInteger(Int32(0), endianness: .big)
                    let start = buffer.writerIndex
                    _ = try values.serialize(newValue, into: &buffer)
                    buffer.setInteger(Int32(buffer.writerIndex - start), at: lengthIndex, endianness: .big)
                }
                if let oldValue = change.oldValue {
                    _ = try values.serialize(oldValue, into: &buffer)
                }
            },
            deserialize: { bytes in
                var bytes = bytes
                guard let flags = bytes.readInteger(as: UInt8.self), flags & ~3 == 0 else {
                    throw SerdeError.invalidEncoding(type: "Change", reason: "bad flags")
                }
                var newValue: Value?
                if flags & 1 != 0 {
                    guard let length = bytes.readInteger(endianness: .big, as: Int32.self), length >= 0,
                          let slice = bytes.readSlice(length: Int(length))
                    else { throw SerdeError.invalidEncoding(type: "Change", reason: "truncated new value") }
                    newValue = try values.deserialize(slice)
                }
                let oldValue: Value? = flags & 2 != 0 ? try values.deserialize(bytes) : nil
                return Change(newValue: newValue, oldValue: oldValue)
            }
        )
    }
}
