package dev.patchcord.core.wg;

import java.util.random.RandomGenerator;

/**
 * Maps the random 32-bit session indices we hand out to what they name: a {@link Peer} while its
 * handshake is pending, a {@link Keypair} once a session exists. Every transport message is
 * looked up here, so reads take no lock and allocate nothing (an open-addressing table of plain
 * ints); writes happen per handshake and copy the table, which keeps reads simple and safe.
 */
final class IndexTable {
    private static final class Table {
        final int[] keys;
        final Object[] values;
        final int size;

        Table(int[] keys, Object[] values, int size) {
            this.keys = keys;
            this.values = values;
            this.size = size;
        }
    }

    private final RandomGenerator rng;
    private volatile Table table = new Table(new int[64], new Object[64], 0);

    IndexTable(RandomGenerator rng) {
        this.rng = rng;
    }

    private static int slot(int key, int mask) {
        int h = key * 0x9E3779B9;
        return (h ^ (h >>> 16)) & mask;
    }

    Object get(int index) {
        Table t = table;
        int mask = t.keys.length - 1;
        for (int i = slot(index, mask); ; i = (i + 1) & mask) {
            Object v = t.values[i];
            if (v == null) {
                return null;
            }
            if (t.keys[i] == index) {
                return v;
            }
        }
    }

    /** Picks a fresh random index for {@code value}. */
    synchronized int add(Object value) {
        while (true) {
            int index = rng.nextInt();
            if (get(index) == null) {
                put(index, value);
                return index;
            }
        }
    }

    /** Sets (or replaces) what {@code index} names. */
    synchronized void put(int index, Object value) {
        rebuild(index, value, table.size + 1);
    }

    /**
     * Sets what {@code index} names unless it names something already: for indices chosen
     * elsewhere (a session taken over from another process), which must not displace ours.
     *
     * @return false if the index was taken
     */
    synchronized boolean claim(int index, Object value) {
        if (get(index) != null) {
            return false;
        }
        put(index, value);
        return true;
    }

    synchronized void remove(int index) {
        if (get(index) != null) {
            rebuild(index, null, table.size - 1);
        }
    }

    synchronized int size() {
        return table.size;
    }

    /** Copies the table with {@code index} set to {@code value} (or dropped when null). */
    private void rebuild(int index, Object value, int expectedSize) {
        Table old = table;
        int capacity = old.keys.length;
        while (expectedSize * 2 > capacity) {
            capacity *= 2;
        }
        int[] keys = new int[capacity];
        Object[] values = new Object[capacity];
        int size = 0;
        for (int i = 0; i < old.keys.length; i++) {
            if (old.values[i] != null && old.keys[i] != index) {
                insert(keys, values, old.keys[i], old.values[i]);
                size++;
            }
        }
        if (value != null) {
            insert(keys, values, index, value);
            size++;
        }
        table = new Table(keys, values, size);
    }

    private static void insert(int[] keys, Object[] values, int key, Object value) {
        int mask = keys.length - 1;
        int i = slot(key, mask);
        while (values[i] != null) {
            i = (i + 1) & mask;
        }
        keys[i] = key;
        values[i] = value;
    }
}
