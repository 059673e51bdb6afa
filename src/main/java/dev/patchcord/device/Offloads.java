package dev.patchcord.device;

import dev.patchcord.core.wg.Curve25519;
import dev.patchcord.core.wg.JdkCurve25519;
import dev.patchcord.sys.NativeCurve25519;
import dev.patchcord.transport.UdpFeatures;

import java.util.Locale;

/**
 * The techniques the encrypted tunnel's packet path uses to move batches instead of packets,
 * each of which can be turned off on its own (patchcord's {@code Offloads} key), so that a
 * throughput or correctness problem can be pinned on one of them:
 *
 * <ul>
 *   <li>{@code batch}: recvmmsg/sendmmsg, a batch of datagrams per system call;
 *   <li>{@code gso}: UDP segmentation offload, one message of equal-size datagrams to one peer;
 *   <li>{@code gro}: UDP receive offload, several datagrams of one peer per received buffer;
 *   <li>{@code tso}: the TUN hands over TCP (and UDP) super-packets of up to 64 KiB with their
 *       checksums left to us, which are cut into MTU-sized packets here;
 *   <li>{@code coalesce}: received TCP segments of one flow are merged into super-packets before
 *       they are written to the TUN, so the kernel's TCP sees fewer, larger packets; so are
 *       equal-size UDP datagrams of one flow (Linux 6.2 on, where the TUN took USO), which is
 *       what a tunnel inside the tunnel receives;
 *   <li>{@code parallel}: the cipher work of a batch is shared with worker threads;
 *   <li>{@code native}: ChaCha20-Poly1305 runs in a native library through FFM (libgcrypt's, else
 *       OpenSSL's libcrypto's), with one context per thread and the packet sealed where it lies,
 *       instead of the JDK's cipher (which needs a new engine and a copy in and out for every
 *       packet). Where neither library is usable, the JDK's is used. The handshakes' X25519 too
 *       ({@link #curve25519}): OpenSSL's where usable, several times faster than the JDK's XDH.
 * </ul>
 *
 * All are on by default; the kernel may still refuse some (the start-up line says what is on).
 */
public record Offloads(boolean batch, boolean gso, boolean gro, boolean tso, boolean coalesce, boolean parallel,
        boolean nativeCipher) {
    public static final Offloads ALL = new Offloads(true, true, true, true, true, true, true);
    public static final Offloads NONE = new Offloads(false, false, false, false, false, false, false);
    private static final String[] NAMES = {"batch", "gso", "gro", "tso", "coalesce", "parallel", "native"};

    /**
     * {@code all}, {@code none}, or a comma-separated list of names, each optionally with a
     * leading {@code -} to remove it, applied left to right; the list starts from everything if
     * its first word is a removal ({@code -tso} is all but TSO), otherwise from nothing.
     */
    public static Offloads parse(String spec) {
        boolean all = spec.strip().startsWith("-");
        boolean[] on = new boolean[NAMES.length];
        java.util.Arrays.fill(on, all);
        for (String raw : spec.split(",")) {
            String word = raw.strip().toLowerCase(Locale.ROOT);
            if (word.isEmpty()) {
                continue;
            }
            boolean set = !word.startsWith("-");
            String name = set ? word : word.substring(1);
            switch (name) {
                case "all" -> java.util.Arrays.fill(on, set);
                case "none" -> java.util.Arrays.fill(on, false);
                case "batch" -> on[0] = set;
                case "gso" -> on[1] = set;
                case "gro" -> on[2] = set;
                case "tso" -> on[3] = set;
                case "coalesce" -> on[4] = set;
                case "parallel" -> on[5] = set;
                case "native" -> on[6] = set;
                default -> throw new IllegalArgumentException("unknown offload '" + name
                        + "' (expected all, none, batch, gso, gro, tso, coalesce, parallel or native)");
            }
        }
        return new Offloads(on[0], on[1], on[2], on[3], on[4], on[5], on[6]);
    }

    /**
     * The offloads a tunnel uses: its own setting if it has one, else the environment variable
     * {@code PATCHCORD_OFFLOADS} (how the tests run every tunnel both ways), else all.
     *
     * @throws IllegalArgumentException naming where the bad value came from
     */
    public static Offloads fromSetting(String setting) {
        String spec = setting != null ? setting : System.getenv("PATCHCORD_OFFLOADS");
        workers(System.getenv(CIPHER_THREADS), 1); // refuse a bad thread count at start, not when the loops begin
        try {
            return spec == null ? ALL : parse(spec);
        } catch (IllegalArgumentException e) {
            throw new IllegalArgumentException(setting != null ? e.getMessage()
                    : "PATCHCORD_OFFLOADS: " + e.getMessage(), e);
        }
    }

    /**
     * What a batched packet path does, for the start-up line: what the kernel granted of the UDP
     * features, and the interface's offloads and coalescing.
     */
    public String describe(UdpFeatures granted, dev.patchcord.tun.PacketDevice device) {
        StringBuilder sb = new StringBuilder(granted.batch() ? "batches" : "no batches");
        if (granted.gso()) {
            sb.append(", UDP GSO");
        }
        if (granted.gro()) {
            sb.append(", UDP GRO");
        }
        if (device.vnetHeader()) {
            if (device.offloads() != 0) {
                sb.append(", TUN offloads ").append(dev.patchcord.tun.TunDevice.describeOffloads(device.offloads()));
            }
            if (coalesce) {
                sb.append(", coalescing");
            }
        }
        return sb.toString();
    }

    /**
     * The engine for the handshakes' X25519, given to the node when it is built: a native one under
     * {@code native} if this system has one that agrees with the JDK, else the JDK's.
     */
    public Curve25519 curve25519() {
        return nativeCipher ? NativeCurve25519.best().orElse(JdkCurve25519.INSTANCE) : JdkCurve25519.INSTANCE;
    }

    /** Whether any of the ways to move batches is on; with none, one packet per system call. */
    public boolean batching() {
        return batch || gso || gro || tso || coalesce || parallel;
    }

    public UdpFeatures udp() {
        return new UdpFeatures(batch, gso, gro);
    }

    /** Whether the TUN must be opened with virtio-net headers. */
    public boolean vnet() {
        return tso || coalesce;
    }

    /**
     * Worker threads for the cipher besides the loop threads: one fewer than the cores this
     * process may run on (its CPU affinity), at least none; or, under {@code parallel}, one fewer
     * than {@code PATCHCORD_CIPHER_THREADS} when that is set. The variable exists for measuring how
     * the cipher scales ({@code bench/scaling.sh}, which pins each tunnel end to its own cores and
     * so cannot let the count follow them); without {@code parallel} there is one cipher thread
     * per direction whatever it says.
     */
    public int cryptoThreads() {
        return parallel ? workers(System.getenv(CIPHER_THREADS), Runtime.getRuntime().availableProcessors()) : 0;
    }

    /** The environment variable that sets the cipher threads per direction, the loop's own included. */
    public static final String CIPHER_THREADS = "PATCHCORD_CIPHER_THREADS";
    static final int MAX_CIPHER_THREADS = 256;

    /**
     * Worker threads for a {@code PATCHCORD_CIPHER_THREADS} value (cipher threads per direction,
     * 1 to 256, the loop thread included), or for the cores when it is unset or empty.
     *
     * @throws IllegalArgumentException for anything else, naming the variable
     */
    static int workers(String setting, int processors) {
        if (setting == null || setting.isBlank()) {
            return Math.max(0, processors - 1);
        }
        String value = setting.strip();
        if (value.matches("[0-9]{1,4}")) {
            int n = Integer.parseInt(value);
            if (n >= 1 && n <= MAX_CIPHER_THREADS) {
                return n - 1;
            }
        }
        throw new IllegalArgumentException(CIPHER_THREADS + ": '" + setting + "' is not a number of cipher threads from 1 to "
                + MAX_CIPHER_THREADS);
    }

    /** As a setting would write it: {@code all}, {@code none}, or the names that are on. */
    @Override
    public String toString() {
        if (equals(ALL)) {
            return "all";
        }
        if (equals(NONE)) {
            return "none";
        }
        StringBuilder sb = new StringBuilder();
        boolean[] on = {batch, gso, gro, tso, coalesce, parallel, nativeCipher};
        for (int i = 0; i < NAMES.length; i++) {
            if (on[i]) {
                sb.append(sb.isEmpty() ? "" : ",").append(NAMES[i]);
            }
        }
        return sb.toString();
    }
}
