package dev.patchcord.core.assign;

import dev.patchcord.core.assign.AddressMessage.Ack;
import dev.patchcord.core.assign.AddressMessage.Nak;
import dev.patchcord.core.assign.AddressMessage.Release;
import dev.patchcord.core.assign.AddressMessage.Renew;
import dev.patchcord.core.assign.AddressMessage.Request;

import java.util.Objects;
import java.util.Optional;
import java.util.function.Predicate;

/**
 * The server's side of the exchange (docs/protocol.md, "Receiver rules"): turns one decoded control
 * message from an authenticated peer into a change of the {@link AddressPool} and the answer to
 * send back through the same session. What it does not do is the caller's: decrypting, knowing
 * which public key the session belongs to, installing a lease's addresses as that peer's allowed
 * IPs (compare {@link AddressPool#lease} before and after), and saving the leases.
 *
 * <p>The public key passed in must be the one the session authenticated, never a value taken from
 * the message: that is the whole of the protection against one peer acting for another.
 */
public final class AddressServer {
    private final AddressPool pool;
    private final Predicate<byte[]> mayLease;

    /**
     * @param mayLease whether the peer with this public key may lease addresses at all (a peer
     *                 with fixed {@code AllowedIPs} may not); it gets a NAK {@code not-permitted}
     */
    public AddressServer(AddressPool pool, Predicate<byte[]> mayLease) {
        this.pool = Objects.requireNonNull(pool, "pool");
        this.mayLease = Objects.requireNonNull(mayLease, "mayLease");
    }

    public AddressPool pool() {
        return pool;
    }

    /**
     * Handles {@code m} from the peer {@code publicKey} at {@code now} (epoch seconds) and returns
     * the answer: an ACK or NAK for REQUEST and RENEW, nothing for RELEASE, and nothing for the
     * messages only a server sends (ACK, NAK), which a server ignores.
     */
    public Optional<AddressMessage> handle(byte[] publicKey, AddressMessage m, long now) {
        return switch (m) {
            case Request r -> Optional.of(answer(publicKey, r.requestId(), AddressPool.Want.of(r), now));
            case Renew r -> Optional.of(renew(publicKey, r, now));
            case Release r -> {
                if (mayLease.test(publicKey.clone())) {
                    pool.release(publicKey);
                }
                yield Optional.empty();
            }
            case Ack a -> Optional.empty();
            case Nak n -> Optional.empty();
        };
    }

    /**
     * A RENEW of exactly the lease the peer holds extends it. Anything else (the server lost the
     * lease, or freed it after the client went quiet) is answered as a REQUEST for the same
     * addresses without fallback: granted if they are still free, refused if another peer has
     * one of them meanwhile, so the client learns at once that it must stop using it.
     */
    private AddressMessage renew(byte[] publicKey, Renew r, long now) {
        if (!mayLease.test(publicKey.clone())) {
            return notPermitted(r.requestId());
        }
        Optional<Lease> held = pool.lease(publicKey);
        if (held.isPresent() && held.get().v4().equals(r.v4()) && held.get().v6().equals(r.v6())) {
            Optional<Lease> renewed = pool.renew(publicKey, now);
            if (renewed.isPresent()) {
                return pool.ack(r.requestId(), renewed.get(), now);
            }
        }
        AddressPool.Want want = new AddressPool.Want(r.v4().isPresent(), r.v6().isPresent(), r.v4(), r.v6(), false);
        return answer(publicKey, r.requestId(), want, now);
    }

    private AddressMessage answer(byte[] publicKey, int requestId, AddressPool.Want want, long now) {
        if (!mayLease.test(publicKey.clone())) {
            return notPermitted(requestId);
        }
        return switch (pool.offer(publicKey, want, now)) {
            case Lease lease -> pool.ack(requestId, lease, now);
            case Allocation.Refusal refusal -> refusal.toNak(requestId);
        };
    }

    private static Nak notPermitted(int requestId) {
        return Nak.of(requestId, NakReason.NOT_PERMITTED, "this peer may not lease addresses");
    }
}
