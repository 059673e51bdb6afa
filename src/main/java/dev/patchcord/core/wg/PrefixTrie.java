package dev.patchcord.core.wg;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.util.ArrayList;
import java.util.List;
import java.util.Objects;

/**
 * A longest-prefix-match table for one address family: a path-compressed binary trie, the shape
 * the Linux kernel and wireguard-go use for allowed IPs. Each node holds a masked key and its
 * prefix length; its two children continue with the next bit. A node without a value exists only
 * to join two subtrees, so the trie never holds more than {@code 2 * size() - 1} nodes and a lookup
 * visits at most one node per distinct prefix length on its path.
 *
 * <p>Concurrency: nodes are immutable. A writer (all writers are {@code synchronized}) copies the
 * nodes on the path it changes, shares every untouched subtree, and publishes the new root with
 * one volatile write. A reader loads the root once and walks a snapshot that no one will ever
 * modify, so lookups take no lock, allocate nothing, and cannot see a half-built node: every field
 * is final and was written before the volatile store that made the node reachable.
 *
 * <p>Keys are held as two longs (the address left-aligned, big-endian), so a 32-bit and a 128-bit
 * table share one code path and a node test is two XOR-and-mask operations.
 *
 * @param <T> the owner of a prefix; compared by identity in {@link #removeAll}
 */
public final class PrefixTrie<T> {
    /** One prefix with its owner, network bits only. The array is a copy the caller may keep. */
    public record Entry<T>(byte[] network, int prefix, T value) {}

    private static final class Node<T> {
        final long hi;
        final long lo;
        final long maskHi;
        final long maskLo;
        final int bits;
        /** Null for a node that only joins its two children. */
        final T value;
        final Node<T> zero;
        final Node<T> one;

        Node(long hi, long lo, int bits, T value, Node<T> zero, Node<T> one) {
            this.maskHi = maskHi(bits);
            this.maskLo = maskLo(bits);
            this.hi = hi & maskHi;
            this.lo = lo & maskLo;
            this.bits = bits;
            this.value = value;
            this.zero = zero;
            this.one = one;
        }

        Node<T> with(T newValue) {
            return new Node<>(hi, lo, bits, newValue, zero, one);
        }

        Node<T> with(int direction, Node<T> child) {
            return direction == 0 ? new Node<>(hi, lo, bits, value, child, one)
                    : new Node<>(hi, lo, bits, value, zero, child);
        }

        Node<T> child(int direction) {
            return direction == 0 ? zero : one;
        }
    }

    private final int width;
    private volatile Node<T> root;
    private volatile int size;

    /** A table for addresses of {@code width} bits: 32 (IPv4) or 128 (IPv6). */
    public PrefixTrie(int width) {
        if (width != 32 && width != 128) {
            throw new IllegalArgumentException("address width must be 32 or 128 bits, not " + width);
        }
        this.width = width;
    }

    /** Assigns {@code address/prefix} (host bits ignored) to {@code value}, taking it from any previous owner. */
    public synchronized void insert(byte[] address, int prefix, T value) {
        Objects.requireNonNull(value, "value");
        check(address, prefix);
        long hi = hi(address);
        long lo = lo(address);
        Node<T> before = root;
        if (get(before, hi, lo, prefix) == null) {
            size++;
        }
        root = insert(before, hi & maskHi(prefix), lo & maskLo(prefix), prefix, value);
    }

    /** Removes exactly {@code address/prefix}; returns whether it was present. */
    public synchronized boolean remove(byte[] address, int prefix) {
        check(address, prefix);
        Node<T> before = root;
        Node<T> after = remove(before, hi(address), lo(address), prefix);
        if (after == before) {
            return false;
        }
        root = after;
        size--;
        return true;
    }

    /** Removes every prefix whose owner is {@code value} (by identity); returns how many. */
    public synchronized int removeAll(T value) {
        Objects.requireNonNull(value, "value");
        int[] removed = {0};
        root = without(root, value, removed);
        size -= removed[0];
        return removed[0];
    }

    /** The owner of exactly {@code address/prefix} (host bits ignored), or null. */
    public T get(byte[] address, int prefix) {
        check(address, prefix);
        return get(root, hi(address), lo(address), prefix);
    }

    /**
     * The owner of the longest prefix covering the address at {@code buf[offset]} (absolute, the
     * position is left alone), or null. Reads 4 or 16 bytes whatever the buffer's byte order.
     */
    public T lookup(ByteBuffer buf, int offset) {
        boolean big = buf.order() == ByteOrder.BIG_ENDIAN;
        if (width == 32) {
            int v = buf.getInt(offset);
            return lookup((long) (big ? v : Integer.reverseBytes(v)) << 32, 0);
        }
        long hi = buf.getLong(offset);
        long lo = buf.getLong(offset + 8);
        return big ? lookup(hi, lo) : lookup(Long.reverseBytes(hi), Long.reverseBytes(lo));
    }

    /** As {@link #lookup(ByteBuffer, int)} for an address of 4 or 16 bytes. */
    public T lookup(byte[] address) {
        check(address, 0);
        return lookup(hi(address), lo(address));
    }

    private T lookup(long hi, long lo) {
        T best = null;
        Node<T> n = root;
        // Every node below one that does not match shares its key, so the first mismatch ends the walk.
        while (n != null && (((hi ^ n.hi) & n.maskHi) | ((lo ^ n.lo) & n.maskLo)) == 0) {
            if (n.value != null) {
                best = n.value;
            }
            n = bit(hi, lo, n.bits) == 0 ? n.zero : n.one;
        }
        return best;
    }

    /** Every prefix, ordered by network address, then by prefix length. */
    public List<Entry<T>> entries() {
        List<Entry<T>> out = new ArrayList<>();
        collect(root, null, out);
        return out;
    }

    /** The prefixes owned by {@code value} (by identity), in the order of {@link #entries()}. */
    public List<Entry<T>> entriesOf(T value) {
        List<Entry<T>> out = new ArrayList<>();
        collect(root, Objects.requireNonNull(value, "value"), out);
        return out;
    }

    public int size() {
        return size;
    }

    /** Nodes in the trie, joining nodes included: at most {@code 2 * size() - 1}, and 0 when empty. */
    int nodeCount() {
        return count(root);
    }

    private Node<T> insert(Node<T> n, long hi, long lo, int prefix, T value) {
        if (n == null) {
            return new Node<>(hi, lo, prefix, value, null, null);
        }
        int common = Math.min(Math.min(n.bits, prefix), commonBits(n.hi, n.lo, hi, lo));
        if (common == n.bits && common == prefix) {
            return n.with(value);
        }
        if (common == n.bits) {
            int direction = bit(hi, lo, n.bits);
            return n.with(direction, insert(n.child(direction), hi, lo, prefix, value));
        }
        if (common == prefix) {
            return bit(n.hi, n.lo, prefix) == 0 ? new Node<>(hi, lo, prefix, value, n, null)
                    : new Node<>(hi, lo, prefix, value, null, n);
        }
        Node<T> leaf = new Node<>(hi, lo, prefix, value, null, null);
        return bit(hi, lo, common) == 0 ? new Node<>(hi, lo, common, null, leaf, n)
                : new Node<>(hi, lo, common, null, n, leaf);
    }

    /** The subtree without {@code hi/lo/prefix}; the very same node when it was not there. */
    private Node<T> remove(Node<T> n, long hi, long lo, int prefix) {
        if (n == null || n.bits > prefix || !covers(n, hi, lo)) {
            return n;
        }
        if (n.bits == prefix) {
            return n.value == null ? n : compact(n.with(null));
        }
        int direction = bit(hi, lo, n.bits);
        Node<T> child = n.child(direction);
        Node<T> after = remove(child, hi, lo, prefix);
        return after == child ? n : compact(n.with(direction, after));
    }

    private Node<T> without(Node<T> n, T value, int[] removed) {
        if (n == null) {
            return null;
        }
        Node<T> zero = without(n.zero, value, removed);
        Node<T> one = without(n.one, value, removed);
        boolean owned = n.value == value;
        if (!owned && zero == n.zero && one == n.one) {
            return n;
        }
        if (owned) {
            removed[0]++;
        }
        return compact(new Node<>(n.hi, n.lo, n.bits, owned ? null : n.value, zero, one));
    }

    /**
     * Drops a joining node that no longer joins two subtrees: its only child takes its place,
     * which is sound because the child's key already carries the joining node's prefix.
     */
    private static <T> Node<T> compact(Node<T> n) {
        if (n.value != null || (n.zero != null && n.one != null)) {
            return n;
        }
        return n.zero != null ? n.zero : n.one;
    }

    private T get(Node<T> n, long hi, long lo, int prefix) {
        while (n != null && n.bits <= prefix && covers(n, hi, lo)) {
            if (n.bits == prefix) {
                return n.value;
            }
            n = bit(hi, lo, n.bits) == 0 ? n.zero : n.one;
        }
        return null;
    }

    private void collect(Node<T> n, T only, List<Entry<T>> out) {
        if (n == null) {
            return;
        }
        if (n.value != null && (only == null || n.value == only)) {
            out.add(new Entry<>(bytes(n.hi, n.lo), n.bits, n.value));
        }
        collect(n.zero, only, out);
        collect(n.one, only, out);
    }

    private static int count(Node<?> n) {
        return n == null ? 0 : 1 + count(n.zero) + count(n.one);
    }

    private static boolean covers(Node<?> n, long hi, long lo) {
        return (((hi ^ n.hi) & n.maskHi) | ((lo ^ n.lo) & n.maskLo)) == 0;
    }

    /**
     * Bit {@code index} (0 = most significant) of the key. For {@code index} 128, where only a
     * full-length node asks and its children are both null, the answer does not matter.
     */
    private static int bit(long hi, long lo, int index) {
        return (int) (index < 64 ? hi >>> (63 - index) : lo >>> (127 - index)) & 1;
    }

    private static int commonBits(long hi1, long lo1, long hi2, long lo2) {
        long x = hi1 ^ hi2;
        if (x != 0) {
            return Long.numberOfLeadingZeros(x);
        }
        x = lo1 ^ lo2;
        return x == 0 ? 128 : 64 + Long.numberOfLeadingZeros(x);
    }

    private static long maskHi(int bits) {
        return bits == 0 ? 0 : -1L << (64 - Math.min(bits, 64));
    }

    private static long maskLo(int bits) {
        return bits <= 64 ? 0 : -1L << (128 - bits);
    }

    private void check(byte[] address, int prefix) {
        if (address.length * 8 != width) {
            throw new IllegalArgumentException("a " + width + "-bit table takes " + width / 8
                    + "-byte addresses, not " + address.length);
        }
        if (prefix < 0 || prefix > width) {
            throw new IllegalArgumentException("prefix " + prefix + " is out of range 0-" + width);
        }
    }

    private static long hi(byte[] address) {
        return address.length == 4 ? (long) load(address, 0, 4) << 32 : load(address, 0, 8);
    }

    private static long lo(byte[] address) {
        return address.length == 4 ? 0 : load(address, 8, 8);
    }

    private static long load(byte[] b, int from, int count) {
        long v = 0;
        for (int i = from; i < from + count; i++) {
            v = v << 8 | (b[i] & 0xff);
        }
        return v;
    }

    private byte[] bytes(long hi, long lo) {
        byte[] out = new byte[width / 8];
        for (int i = 0; i < out.length; i++) {
            long word = i < 8 ? hi : lo;
            out[i] = (byte) (word >>> (56 - 8 * (i & 7)));
        }
        return out;
    }
}
