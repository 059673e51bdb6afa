package dev.patchcord.core.simplevpn;

import java.util.Arrays;

/**
 * The simplevpn server's free list of tunnel addresses, in the original's order, so that a real
 * client sees the same address from patchcord as from the program it replaces.
 *
 * <p>The original builds its list for 10.0.0.0/16 with skipping rules that are quirky but
 * observable, and patchcord reproduces them rather than "fixing" them, since clients may have
 * been configured around the addresses they get:
 * <ul>
 *   <li>10.0.0.1 is in the pool, and nothing else in 10.0.0.x;</li>
 *   <li>in 10.0.1.x, .2 to .254;</li>
 *   <li>in 10.0.2.x to 10.0.254.x, .0 to .254 (so 253 addresses ending in .0 are handed out);</li>
 *   <li>no x.x.x.255 and nothing in 10.0.255.x.</li>
 * </ul>
 * That is 64,769 addresses. Dynamic requests take from the top: 10.0.254.254, then .253, .252 and
 * so on. A freed address goes back right after the first entry of the list, so it is handed out
 * again second-next (a client that reconnects at once gets the next fresh address, and the one after
 * it gets the freed one).
 *
 * <p>The list is doubly linked through two int arrays indexed by the address's low 16 bits, so
 * taking, claiming a given address and freeing are all constant time and allocate nothing. Not
 * thread-safe: the server holds one lock around it and its routing table.
 */
public final class AddressPool {
    /** 10.0.0.0: the pool lies in 10.0.0.0/16. */
    public static final int BASE = 0x0A000000;
    public static final int PREFIX = 16;
    /** How many addresses the original's rules admit. */
    public static final int SIZE = 64_769;

    /** The outcome of a static request. */
    public enum Claim {
        GRANTED,
        /** In the pool but held by another client. */
        IN_USE,
        /** Never handed out by this server (outside 10.0.0.0/16, or skipped by its rules). */
        NOT_IN_POOL
    }

    private static final int SLOTS = 1 << 16;
    private static final int NIL = -1;

    private final int[] next = new int[SLOTS];
    private final int[] prev = new int[SLOTS];
    private final boolean[] free = new boolean[SLOTS];
    private int head = NIL;
    private int size;

    /** A full pool: every address the rules admit is free. */
    public AddressPool() {
        Arrays.fill(next, NIL);
        Arrays.fill(prev, NIL);
        int tail = NIL;
        for (int slot = SLOTS - 1; slot >= 0; slot--) {
            if (!inPool(BASE | slot)) {
                continue;
            }
            if (tail == NIL) {
                head = slot;
            } else {
                next[tail] = slot;
                prev[slot] = tail;
            }
            tail = slot;
            free[slot] = true;
            size++;
        }
    }

    /** Whether the original server would ever hand out {@code address}. */
    public static boolean inPool(int address) {
        if ((address & 0xFFFF0000) != BASE) {
            return false;
        }
        int third = address >>> 8 & 0xff;
        int fourth = address & 0xff;
        return switch (third) {
            case 0 -> fourth == 1;
            case 1 -> fourth >= 2 && fourth <= 254;
            case 255 -> false;
            default -> fourth <= 254;
        };
    }

    /** How many addresses are free. */
    public int free() {
        return size;
    }

    public boolean isFree(int address) {
        return inPool(address) && free[address & 0xFFFF];
    }

    /**
     * A dynamic request: the first free address.
     *
     * @return the address, or {@link ControlMessage#NONE} when the pool is exhausted
     */
    public int take() {
        if (head == NIL) {
            return ControlMessage.NONE;
        }
        int slot = head;
        unlink(slot);
        return BASE | slot;
    }

    /** A static request for {@code address}: granted (and taken) only if it is in the pool and free. */
    public Claim claim(int address) {
        if (!inPool(address)) {
            return Claim.NOT_IN_POOL;
        }
        int slot = address & 0xFFFF;
        if (!free[slot]) {
            return Claim.IN_USE;
        }
        unlink(slot);
        return Claim.GRANTED;
    }

    /**
     * Gives an address back; it is inserted after the first entry, as in the original. Freeing an
     * address that is free already or not in the pool changes nothing.
     *
     * @return whether the address was taken before
     */
    public boolean release(int address) {
        if (!inPool(address) || free[address & 0xFFFF]) {
            return false;
        }
        int slot = address & 0xFFFF;
        free[slot] = true;
        size++;
        if (head == NIL) {
            head = slot;
            next[slot] = NIL;
            prev[slot] = NIL;
            return true;
        }
        int after = next[head];
        next[head] = slot;
        prev[slot] = head;
        next[slot] = after;
        if (after != NIL) {
            prev[after] = slot;
        }
        return true;
    }

    private void unlink(int slot) {
        int p = prev[slot];
        int n = next[slot];
        if (p == NIL) {
            head = n;
        } else {
            next[p] = n;
        }
        if (n != NIL) {
            prev[n] = p;
        }
        next[slot] = NIL;
        prev[slot] = NIL;
        free[slot] = false;
        size--;
    }
}
