package dev.patchcord.control.directory;

import dev.patchcord.control.MeshPeer;
import dev.patchcord.control.PeerList;
import dev.patchcord.control.PeerList.PeerListException;

import java.io.IOException;
import java.nio.charset.CharacterCodingException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.nio.file.attribute.BasicFileAttributes;
import java.nio.file.attribute.FileTime;
import java.util.List;
import java.util.Objects;

/**
 * The directory's members file, a peer list read strictly, and the watch on it: an operator edits
 * or replaces the file and the directory picks the change up without a restart. A file that cannot
 * be used is reported once per change and the last good list stays in force, so a half-written or
 * mistyped file never empties the mesh.
 */
public final class MembersFile {
    private final Path path;
    /** The file as last looked at; a change of any part (a rename over it changes the inode) means re-read. */
    private Signature seen;

    private record Signature(FileTime modified, long size, Object fileKey) {
        static final Signature MISSING = new Signature(FileTime.fromMillis(0), -1, null);
    }

    public MembersFile(Path path) {
        this.path = Objects.requireNonNull(path, "path");
    }

    public Path path() {
        return path;
    }

    /**
     * Reads and parses the file now, and remembers it as seen.
     *
     * @throws PeerListException saying which file and what is wrong with it, in one line
     */
    public synchronized List<MeshPeer> load() throws PeerListException {
        seen = signature();
        return read();
    }

    /**
     * Re-reads the file if it changed since it was last looked at and puts the new list in force.
     *
     * @return a line for the log (a reload, or why the file was not used), or null if nothing changed
     */
    public synchronized String reloadIfChanged(DirectoryState state) {
        Signature now = signature();
        if (now.equals(seen)) {
            return null;
        }
        seen = now;
        int before = state.memberCount();
        String keeping = "; keeping the previous " + plural(before, "member");
        if (now == Signature.MISSING) {
            return "members file " + path + " is gone" + keeping;
        }
        List<MeshPeer> peers;
        try {
            peers = read();
            state.replaceMembers(peers);
        } catch (PeerListException e) {
            return e.getMessage() + keeping;
        } catch (IllegalArgumentException e) {
            return "members file " + path + ": " + e.getMessage() + keeping;
        }
        return "members file " + path + " reloaded: " + plural(peers.size(), "member");
    }

    private List<MeshPeer> read() throws PeerListException {
        String text;
        try {
            byte[] bytes = Files.readAllBytes(path);
            text = StandardCharsets.UTF_8.newDecoder().decode(java.nio.ByteBuffer.wrap(bytes)).toString();
        } catch (NoSuchFileException e) {
            throw new PeerListException("members file " + path + " does not exist");
        } catch (CharacterCodingException e) {
            throw new PeerListException("members file " + path + " is not UTF-8 text");
        } catch (IOException e) {
            throw new PeerListException("cannot read members file " + path + ": " + e.getMessage());
        }
        try {
            return PeerList.parse(text, true);
        } catch (PeerListException e) {
            throw new PeerListException("members file " + path + ": " + e.getMessage());
        }
    }

    private Signature signature() {
        try {
            BasicFileAttributes a = Files.readAttributes(path, BasicFileAttributes.class);
            return new Signature(a.lastModifiedTime(), a.size(), a.fileKey());
        } catch (IOException e) {
            return Signature.MISSING;
        }
    }

    static String plural(int n, String noun) {
        return n + " " + noun + (n == 1 ? "" : "s");
    }
}
