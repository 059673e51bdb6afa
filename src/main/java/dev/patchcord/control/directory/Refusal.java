package dev.patchcord.control.directory;

import dev.patchcord.core.mesh.Freshness;

/**
 * Why the directory turned a request or a datagram away. The HTTP status and the text are what
 * the asking node reads in the error body (docs/protocol.md, part 2, section 2); the label is what
 * the summary line counts.
 */
public enum Refusal {
    WRONG_METHOD(405, "method not allowed", "wrong method"),
    NOT_FOUND(404, "not found", "unknown path"),
    TOO_LARGE(413, "body larger than " + DirectoryState.MAX_BODY + " bytes", "too large"),
    MALFORMED(400, "malformed request", "malformed"),
    NOT_MEMBER(403, "not a member", "not a member"),
    BAD_MAC(403, "bad MAC", "bad MAC"),
    TOO_OLD(403, Freshness.Verdict.TOO_OLD.describe(), "time in the past"),
    TOO_NEW(403, Freshness.Verdict.TOO_NEW.describe(), "time in the future"),
    REPLAYED(403, Freshness.Verdict.REPLAYED.describe(), "replayed"),
    /** A datagram on the probe port that is not a probe; never answered, so no status. */
    NOT_A_PROBE(0, "not a probe", "not a probe");

    private final int status;
    private final String text;
    private final String label;

    Refusal(int status, String text, String label) {
        this.status = status;
        this.text = text;
        this.label = label;
    }

    /** The HTTP status of the refusal (0 for datagrams, which get no answer). */
    public int status() {
        return status;
    }

    /** The default text of the error body; a malformed request says more precisely what is wrong. */
    public String text() {
        return text;
    }

    /** A short name for counters. */
    public String label() {
        return label;
    }

    static Refusal of(Freshness.Verdict verdict) {
        return switch (verdict) {
            case TOO_OLD -> TOO_OLD;
            case TOO_NEW -> TOO_NEW;
            case REPLAYED -> REPLAYED;
            case FRESH -> throw new IllegalArgumentException("a fresh time is not a refusal");
        };
    }
}
