/// A first-in-first-out buffer that hands its elements over when they leave it.
///
/// NIO's `CircularBuffer` keeps optionals and copies an element out before clearing its slot;
/// for a task's buffered record (topic, key, value and headers, each reference counted) that is
/// four retains and four releases per record on the hot path. `popFirst()` here moves the
/// element out of its slot instead. Used from one thread at a time.
final class FIFOBuffer<Element> {
    private var storage: UnsafeMutablePointer<Element>
    /// A power of two, so that positions wrap with a mask.
    private var capacity: Int
    private var head = 0
    private(set) var count = 0

    init(initialCapacity: Int = 16) {
        var capacity = 1
        while capacity < initialCapacity { capacity <<= 1 }
        self.capacity = capacity
        storage = .allocate(capacity: capacity)
    }

    deinit {
        removeAll()
        storage.deallocate()
    }

    var isEmpty: Bool { count == 0 }

    /// Reads the first element in place (no copy of it); `nil` when empty.
    @inline(__always)
    func withFirst<Result>(_ body: (borrowing Element) throws -> Result) rethrows -> Result? {
        guard count > 0 else { return nil }
        return try body(storage[head])
    }

    /// Appends an uninitialized slot and returns it: the caller initializes it before the buffer
    /// is used again. A value built straight into the slot is not copied, where one passed to
    /// ``append(_:)`` from a caller's local was copied (a retain of each of its references) and
    /// the local destroyed.
    @inline(__always)
    func appendUninitialized() -> UnsafeMutablePointer<Element> {
        if count == capacity { grow() }
        let slot = storage + ((head + count) & (capacity - 1))
        count += 1
        return slot
    }

    /// Removes the last element. The buffer must not be empty.
    func removeLast() {
        precondition(count > 0, "removeLast() on an empty FIFOBuffer")
        (storage + ((head + count - 1) & (capacity - 1))).deinitialize(count: 1)
        count -= 1
    }

    func append(_ element: consuming Element) {
        if count == capacity { grow() }
        (storage + ((head + count) & (capacity - 1))).initialize(to: consume element)
        count += 1
    }

    /// Takes the first element out, moving it (no copy, no reference counting).
    func popFirst() -> Element? {
        guard count > 0 else { return nil }
        let element = (storage + head).move()
        head = (head + 1) & (capacity - 1)
        count -= 1
        return element
    }

    /// Takes the first element out of a buffer that is not empty, moving it. Not optional: the
    /// caller binding an optional's payload cost a copy of the element and a second destroy.
    func removeFirst() -> Element {
        precondition(count > 0, "removeFirst() on an empty FIFOBuffer")
        let element = (storage + head).move()
        head = (head + 1) & (capacity - 1)
        count -= 1
        return element
    }

    func removeAll() {
        while count > 0 {
            (storage + head).deinitialize(count: 1)
            head = (head + 1) & (capacity - 1)
            count -= 1
        }
        head = 0
    }

    /// Doubles the capacity, moving the elements to the start of the new storage in order.
    private func grow() {
        let newCapacity = capacity * 2
        let newStorage = UnsafeMutablePointer<Element>.allocate(capacity: newCapacity)
        let firstRun = min(count, capacity - head)
        newStorage.moveInitialize(from: storage + head, count: firstRun)
        (newStorage + firstRun).moveInitialize(from: storage, count: count - firstRun)
        storage.deallocate()
        storage = newStorage
        capacity = newCapacity
        head = 0
    }
}
