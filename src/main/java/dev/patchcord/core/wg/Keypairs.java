package dev.patchcord.core.wg;

/**
 * One peer's three keypair slots and their rotation (whitepaper 5.4.7): {@code current} seals;
 * {@code next} is a responder's session, which opens but does not seal until the initiator's
 * first transport message confirms it; {@code previous} still opens what was sealed under the
 * session just replaced. A keypair leaving its slot is retired: taken out of the index table and
 * its keys wiped.
 *
 * <p>Concurrency: {@link #current} and {@link #next} are volatile so that the data path reads
 * them without a lock. Every change (installing, confirming, wiping, zeroing) happens under the
 * owning {@link Peer}'s monitor, which the caller holds; {@code previous} is only read there too.
 * A packet already matched to a keypair that is retired meanwhile fails to seal or open and is
 * dropped (see {@link DataCipher#seal}).
 */
final class Keypairs {
    private final IndexTable indices;
    volatile Keypair current;
    volatile Keypair next;
    private Keypair previous;

    Keypairs(IndexTable indices) {
        this.indices = indices;
    }

    /** Our initiation was answered: {@code kp} seals from now on. */
    void initiated(Keypair kp) {
        indices.put(kp.localIndex, kp);
        if (next != null) {
            // The unconfirmed responder session becomes the previous one; the current one is
            // superseded twice over and goes, index and keys (wireguard-go does the same).
            retire(previous);
            retire(current);
            previous = next;
            next = null;
        } else {
            retire(previous);
            previous = current;
        }
        current = kp;
    }

    /** We answered an initiation: {@code kp} waits in {@code next} for the initiator's confirmation. */
    void responded(Keypair kp) {
        indices.put(kp.localIndex, kp);
        retire(next);
        retire(previous);
        previous = null;
        next = kp;
    }

    /** A transport message under {@code kp} authenticated: if it is {@code next}, it is confirmed and becomes current. */
    boolean confirm(Keypair kp) {
        if (kp != next) {
            return false;
        }
        retire(previous);
        previous = current;
        current = kp;
        next = null;
        return true;
    }

    /**
     * An expired session can no longer seal or open (both paths check its age first), so its keys
     * are wiped at once. It stays in its slot and in the index table until it is replaced or
     * {@link #zero} runs, so that late packets are still counted as expired-key drops.
     */
    void wipeExpired(long now) {
        wipeIfExpired(previous, now);
        wipeIfExpired(current, now);
        wipeIfExpired(next, now);
    }

    private static void wipeIfExpired(Keypair kp, long now) {
        if (kp != null && kp.expired(now) && !kp.destroyed()) {
            kp.destroy();
        }
    }

    Keypair previous() {
        return previous;
    }

    /**
     * Fills the three slots with sessions taken over from another process, after {@link #zero}.
     * Their indices are already in the table: the caller claimed them.
     */
    void restore(Keypair current, Keypair next, Keypair previous) {
        this.previous = previous;
        this.next = next;
        this.current = current;
    }

    /** Retires all three sessions and empties the slots. */
    void zero() {
        retire(previous);
        retire(current);
        retire(next);
        previous = null;
        current = null;
        next = null;
    }

    /** Takes a session out of use: its index no longer finds it and its keys are wiped. */
    private void retire(Keypair kp) {
        if (kp != null) {
            indices.remove(kp.localIndex);
            kp.destroy();
        }
    }
}
