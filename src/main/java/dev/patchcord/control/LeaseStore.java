package dev.patchcord.control;

import dev.patchcord.core.Cidr;
import dev.patchcord.core.assign.Lease;

import java.io.IOException;
import java.net.Inet4Address;
import java.net.InetAddress;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.StandardOpenOption;
import java.nio.file.attribute.FileAttribute;
import java.nio.file.attribute.PosixFilePermission;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.ArrayList;
import java.util.Base64;
import java.util.Collection;
import java.util.List;
import java.util.Objects;
import java.util.Optional;
import java.util.Set;

/**
 * The server's address leases on disk, so that a restart does not hand a connected client's
 * address to somebody else. One lease per line, readable and editable with a text editor:
 *
 * <pre>
 * # patchcord leases: public-key address[,address] end-epoch-seconds
 * xTIBA5rboUvnH4htodjb6e697QjLERt1NAB4mZqp8Dg= 10.9.0.2,fd00:9::2 1767225600
 * </pre>
 *
 * <p>Saving replaces the file atomically: the text goes to a temporary file in the same directory
 * (a rename is only atomic within one file system), is flushed to the disk with
 * {@link FileChannel#force}, and is then renamed over the old file, so a crash at any moment
 * leaves either the old leases or the new ones, never half a file. The file is mode 0600: it maps
 * public keys to addresses, which is nobody else's business.
 *
 * <p>Loading is forgiving, because losing every lease to one bad line would be worse than losing
 * that line: a missing file is no leases, and a line that cannot be read is skipped and reported
 * as {@code FILE:LINE: problem}, the form compilers use. Whether the leases still fit the pool is
 * for {@link dev.patchcord.core.assign.AddressPool#restore} to decide.
 */
public final class LeaseStore {
    private static final String HEADER = "# patchcord leases: public-key address[,address] end-epoch-seconds\n";
    private static final Set<PosixFilePermission> OWNER_ONLY = PosixFilePermissions.fromString("rw-------");

    private final Path file;

    public LeaseStore(Path file) {
        this.file = Objects.requireNonNull(file, "file");
    }

    public Path file() {
        return file;
    }

    /** The leases that could be read, and one problem per line that could not. */
    public record Loaded(List<Lease> leases, List<ConfigException> problems) {
        public Loaded {
            leases = List.copyOf(leases);
            problems = List.copyOf(problems);
        }
    }

    /**
     * Reads the file; a missing file gives no leases and no problems.
     *
     * @throws IOException only if the file exists and cannot be read
     */
    public Loaded load() throws IOException {
        byte[] bytes;
        try {
            bytes = Files.readAllBytes(file);
        } catch (NoSuchFileException e) {
            return new Loaded(List.of(), List.of());
        }
        // Malformed UTF-8 becomes U+FFFD and fails on its own line, instead of failing the file.
        return parse(file.toString(), new String(bytes, StandardCharsets.UTF_8));
    }

    /** Replaces the file with {@code leases}, atomically and durably, mode 0600. */
    public void save(Collection<Lease> leases) throws IOException {
        Path tmp = writeTemporary(render(leases));
        try {
            Files.move(tmp, file, StandardCopyOption.ATOMIC_MOVE, StandardCopyOption.REPLACE_EXISTING);
        } catch (IOException e) {
            Files.deleteIfExists(tmp);
            throw e;
        }
        syncDirectory();
    }

    /**
     * The first half of {@link #save}: the complete new text, flushed to disk under a temporary
     * name that {@link #load} never reads. A crash after this leaves the old file as it was; the
     * next save replaces the leftover. Package-private so that a test can stop here.
     */
    Path writeTemporary(String text) throws IOException {
        Path tmp = temporaryFile();
        Files.deleteIfExists(tmp);
        FileAttribute<Set<PosixFilePermission>> mode = PosixFilePermissions.asFileAttribute(OWNER_ONLY);
        try (FileChannel ch = FileChannel.open(tmp, Set.of(StandardOpenOption.CREATE_NEW, StandardOpenOption.WRITE), mode)) {
            ByteBuffer data = ByteBuffer.wrap(text.getBytes(StandardCharsets.UTF_8));
            while (data.hasRemaining()) {
                ch.write(data);
            }
            ch.force(true);
        } catch (IOException e) {
            Files.deleteIfExists(tmp);
            throw e;
        }
        Files.setPosixFilePermissions(tmp, OWNER_ONLY); // the umask may have taken bits away; never adds any
        return tmp;
    }

    /** {@code .NAME.tmp} beside the file: a hidden name in the same directory, so on the same file system. */
    Path temporaryFile() {
        return file.toAbsolutePath().resolveSibling("." + file.getFileName() + ".tmp");
    }

    /**
     * Makes the rename itself durable: on Linux a rename is recorded in the directory, which has
     * to be flushed like a file. Some file systems refuse to flush a directory; the rename is
     * still atomic there, only perhaps not yet on disk, so that refusal is not an error.
     */
    private void syncDirectory() {
        Path dir = file.toAbsolutePath().getParent();
        try (FileChannel ch = FileChannel.open(dir, StandardOpenOption.READ)) {
            ch.force(true);
        } catch (IOException ignored) {
            // see above
        }
    }

    /** The file's text for {@code leases}, one line each, in the order given. */
    public static String render(Collection<Lease> leases) {
        StringBuilder sb = new StringBuilder(HEADER);
        for (Lease l : leases) {
            sb.append(l.keyText()).append(' ');
            l.v4().ifPresent(a -> sb.append(Cidr.format(a)));
            if (l.v4().isPresent() && l.v6().isPresent()) {
                sb.append(',');
            }
            l.v6().ifPresent(a -> sb.append(Cidr.format(a)));
            sb.append(' ').append(l.endsAt()).append('\n');
        }
        return sb.toString();
    }

    /**
     * Reads lease lines from {@code text}. Blank lines and lines starting with '#' are skipped;
     * every other line must be {@code KEY ADDRESSES END} or is reported and skipped.
     *
     * @param source the name problems are reported under (the file name)
     */
    public static Loaded parse(String source, String text) {
        List<Lease> leases = new ArrayList<>();
        List<ConfigException> problems = new ArrayList<>();
        String[] lines = text.split("\n", -1);
        for (int i = 0; i < lines.length; i++) {
            String line = lines[i].strip();
            if (line.isEmpty() || line.startsWith("#")) {
                continue;
            }
            try {
                leases.add(parseLine(line));
            } catch (IllegalArgumentException e) {
                problems.add(new ConfigException(source, i + 1, e.getMessage()));
            }
        }
        return new Loaded(leases, problems);
    }

    private static Lease parseLine(String line) {
        String[] fields = line.split("\\s+");
        if (fields.length != 3) {
            throw new IllegalArgumentException("expected 'public-key address[,address] end', found "
                    + fields.length + " field" + (fields.length == 1 ? "" : "s"));
        }
        byte[] key;
        try {
            key = Base64.getDecoder().decode(fields[0]);
        } catch (IllegalArgumentException e) {
            key = null;
        }
        if (key == null || key.length != 32) {
            throw new IllegalArgumentException("'" + shorten(fields[0]) + "' is not a base64 public key");
        }
        Optional<InetAddress> v4 = Optional.empty();
        Optional<InetAddress> v6 = Optional.empty();
        String[] addresses = fields[1].split(",", -1);
        if (addresses.length > 2) {
            throw new IllegalArgumentException("more than two addresses in '" + shorten(fields[1]) + "'");
        }
        for (String text : addresses) {
            InetAddress a = Cidr.parseAddress(text); // says "'TEXT' is not an IP address"
            boolean ipv4 = a instanceof Inet4Address;
            if (ipv4 ? v4.isPresent() : v6.isPresent()) {
                throw new IllegalArgumentException("two " + (ipv4 ? "IPv4" : "IPv6") + " addresses in '"
                        + shorten(fields[1]) + "'");
            }
            if (ipv4) {
                v4 = Optional.of(a);
            } else {
                v6 = Optional.of(a);
            }
        }
        String end = fields[2];
        if (end.isEmpty() || end.length() > 18 || !end.chars().allMatch(c -> c >= '0' && c <= '9')) {
            throw new IllegalArgumentException("lease end '" + shorten(end) + "' is not a time in epoch seconds");
        }
        return new Lease(key, v4, v6, Long.parseLong(end));
    }

    /** Keeps a problem message one line long even for a megabyte of garbage. */
    private static String shorten(String s) {
        return s.length() <= 60 ? s : s.substring(0, 57) + "...";
    }
}
