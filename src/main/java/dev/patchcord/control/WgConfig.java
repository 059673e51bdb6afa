package dev.patchcord.control;

import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermission;
import java.util.List;
import java.util.Objects;
import java.util.Optional;
import java.util.Set;

/**
 * A wg-quick configuration file: one {@code [Interface]} and any number of {@code [Peer]}s, so that
 * {@code patchcord up FILE} reads the same file as {@code wg-quick up FILE}. The syntax rules are
 * described in {@link WgConfigParser}; every error names the file and line.
 *
 * <p>Nothing is resolved or looked up while reading: endpoints keep their host names, and
 * addresses are parsed as literals only.
 *
 * @param source the file name as given, used in later messages about this configuration
 * @param interfaceSection the [Interface] section
 * @param peers the [Peer] sections in file order, public keys all different
 */
public record WgConfig(String source, WgInterfaceSection interfaceSection, List<WgPeerSection> peers) {

    /**
     * Larger than any real configuration (about 100,000 peers); a mistaken {@code /dev/zero} or
     * log file fails with a message instead of filling the heap.
     */
    static final int MAX_FILE_BYTES = 16 << 20;

    public WgConfig {
        Objects.requireNonNull(source, "source");
        Objects.requireNonNull(interfaceSection, "interfaceSection");
        peers = List.copyOf(peers);
    }

    /**
     * Reads and parses a file. It is decoded as UTF-8; bytes that are not UTF-8 (a Latin-1 comment)
     * become U+FFFD instead of failing the whole file.
     *
     * @throws ConfigException with {@code FILE:LINE:} when the content is wrong
     * @throws IOException when the file cannot be read
     */
    public static WgConfig parse(Path file) throws ConfigException, IOException {
        byte[] bytes;
        try (InputStream in = Files.newInputStream(file)) {
            bytes = in.readNBytes(MAX_FILE_BYTES + 1);
        }
        if (bytes.length > MAX_FILE_BYTES) {
            throw new ConfigException(file.toString(), 0, "file is larger than " + (MAX_FILE_BYTES >> 20)
                    + " MiB; is it a WireGuard configuration?");
        }
        return parse(new String(bytes, StandardCharsets.UTF_8), file.toString());
    }

    /**
     * Parses configuration text.
     *
     * @param sourceName the name to put in front of error messages, usually the file name
     * @throws ConfigException with {@code sourceName:LINE:} when the content is wrong
     */
    public static WgConfig parse(String text, String sourceName) throws ConfigException {
        Objects.requireNonNull(text, "text");
        Objects.requireNonNull(sourceName, "sourceName");
        return WgConfigParser.parse(text, sourceName);
    }

    /**
     * The warning wg-quick prints when others can read the private key: {@code Warning: 'FILE' is
     * world accessible} when others may read or write the file, {@code ... is group accessible}
     * when only its group may. Empty when only the owner has access, when the file system has no
     * POSIX permissions, or when they cannot be read (parsing will report a missing file).
     */
    public static Optional<String> permissionWarning(Path file) {
        Set<PosixFilePermission> perms;
        try {
            perms = Files.getPosixFilePermissions(file);
        } catch (UnsupportedOperationException | IOException e) {
            return Optional.empty();
        }
        String who;
        if (perms.contains(PosixFilePermission.OTHERS_READ) || perms.contains(PosixFilePermission.OTHERS_WRITE)) {
            who = "world";
        } else if (perms.contains(PosixFilePermission.GROUP_READ) || perms.contains(PosixFilePermission.GROUP_WRITE)) {
            who = "group";
        } else {
            return Optional.empty();
        }
        return Optional.of("Warning: '" + file + "' is " + who + " accessible");
    }

    /** A summary without secrets: private and preshared keys show as {@code (hidden)}. */
    @Override
    public String toString() {
        StringBuilder sb = new StringBuilder(source).append(": ").append(interfaceSection);
        for (WgPeerSection peer : peers) {
            sb.append("; ").append(peer);
        }
        return sb.toString();
    }
}
