package dev.patchcord.control;

import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.Collection;

/**
 * Which surviving hub calls an orphaned client back: the live hub with the highest hash of the
 * client's key and the hub's id (rendezvous hashing). Every hub computes the same answer from the
 * same list without asking anyone, orphans spread evenly over the survivors, and a hub joining or
 * leaving changes the choice only for the clients it wins or loses.
 */
final class HubChoice {
    private HubChoice() {
    }

    /**
     * @param clientKey the client's public key, base64
     * @param liveHubs the ids of the hubs whose records are alive (this hub's own among them)
     * @param self this hub, counted as live even if its record is briefly missing
     * @return the chosen hub's id
     */
    static String successor(String clientKey, Collection<String> liveHubs, String self) {
        String best = self;
        long bestScore = score(clientKey, self);
        for (String h : liveHubs) {
            long s = score(clientKey, h);
            if (s > bestScore || s == bestScore && h.compareTo(best) > 0) {
                best = h;
                bestScore = s;
            }
        }
        return best;
    }

    /** A hash every JVM computes alike (String.hashCode would do, but is easy to make collide). */
    static long score(String clientKey, String hubId) {
        try {
            byte[] d = MessageDigest.getInstance("SHA-256")
                    .digest((clientKey + "\n" + hubId).getBytes(StandardCharsets.UTF_8));
            long v = 0;
            for (int i = 0; i < 8; i++) {
                v = v << 8 | (d[i] & 0xff);
            }
            return v;
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException("SHA-256 is part of every JDK", e);
        }
    }
}
