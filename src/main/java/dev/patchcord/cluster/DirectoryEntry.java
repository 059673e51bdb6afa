package dev.patchcord.cluster;

import java.util.List;
import java.util.Objects;

/**
 * What the mesh directory servers of one cluster know of where a member is, shared through the
 * store ({@link DirectoryStore}): the endpoints the member last declared in a sync and the source
 * of its last probe, each with the time (milliseconds since the epoch, by the clock of the server
 * that recorded it) it was recorded. The times, not an etcd lease, age an entry: a reader reports
 * each part until the directory's TTL has passed since its time, as it does for what it recorded
 * itself.
 *
 * <p>Endpoints are text ({@code HOST:PORT}, {@code [IPV6]:PORT}): the store does not know the
 * directory's types; the directory checks them when it reads an entry.
 *
 * @param declared the declared endpoints, in the order sent (empty when none were declared)
 * @param declaredAt when they were declared, or 0 if this member's declaration is not known
 * @param observed the probe's source, or null if unknown
 * @param observedAt when it was seen, 0 exactly when {@code observed} is null
 */
public record DirectoryEntry(List<String> declared, long declaredAt, String observed, long observedAt) {
    public DirectoryEntry {
        declared = List.copyOf(declared);
        if (declaredAt < 0 || observedAt < 0) {
            throw new IllegalArgumentException("directory entry times must not be negative");
        }
        if (declaredAt == 0 && !declared.isEmpty()) {
            throw new IllegalArgumentException("declared endpoints need the time they were declared");
        }
        if ((observed == null) != (observedAt == 0)) {
            throw new IllegalArgumentException("an observed endpoint and its time go together");
        }
        for (String e : declared) {
            checkEndpoint(e);
        }
        if (observed != null) {
            checkEndpoint(observed);
        }
    }

    /** Only what the value's comma-separated line can hold; the directory checks the form. */
    private static void checkEndpoint(String e) {
        Objects.requireNonNull(e, "endpoint");
        if (e.isEmpty() || e.chars().anyMatch(c -> c == ',' || c <= ' ' || c == 0x7f)) {
            throw new IllegalArgumentException("endpoint '" + e + "' is empty or has a comma, space or control character");
        }
    }
}
