package dev.patchcord.control;

import java.net.URI;
import java.util.Arrays;
import java.util.Objects;

/**
 * Where an interface gets peers besides its own [Peer] sections: patchcord's {@code PeersFile},
 * {@code Directory}, {@code DirectoryKey}, {@code DirectoryInterval} and {@code DirectoryCA} keys.
 *
 * @param peersFile a peer list file ({@link PeerList}) reloaded when it changes, or null
 * @param directory the directory's https URL, or null
 * @param directoryKey the directory's public key (32 bytes), present exactly when {@code directory} is
 * @param directoryIntervalSeconds seconds between syncs with the directory
 * @param directoryCa a PEM file of CAs to trust for the directory instead of the JDK's, or null
 */
public record MeshSettings(String peersFile, URI directory, byte[] directoryKey, int directoryIntervalSeconds,
        String directoryCa) {
    public static final int DEFAULT_INTERVAL = 30;

    public MeshSettings {
        if ((directory == null) != (directoryKey == null)) {
            throw new IllegalArgumentException(directory == null ? "DirectoryKey needs Directory"
                    : "Directory needs DirectoryKey (the directory's public key)");
        }
        if (directory != null && !"https".equalsIgnoreCase(directory.getScheme())) {
            throw new IllegalArgumentException("Directory must be an https:// URL, not '" + directory + "'");
        }
        if (directory != null && directory.getHost() == null) {
            throw new IllegalArgumentException("Directory '" + directory + "' has no host");
        }
        if (directoryCa != null && directory == null) {
            throw new IllegalArgumentException("DirectoryCA needs Directory");
        }
        if (directoryIntervalSeconds < 1 || directoryIntervalSeconds > 86400) {
            throw new IllegalArgumentException("DirectoryInterval must be 1 to 86400 seconds");
        }
        directoryKey = directoryKey == null ? null : directoryKey.clone();
    }

    @Override
    public byte[] directoryKey() {
        return directoryKey == null ? null : directoryKey.clone();
    }

    /** The UDP port of the directory's probe listener: the HTTPS port. */
    public int directoryPort() {
        return directory.getPort() > 0 ? directory.getPort() : 443;
    }

    @Override
    public boolean equals(Object o) {
        return o instanceof MeshSettings m && Objects.equals(peersFile, m.peersFile)
                && Objects.equals(directory, m.directory) && Arrays.equals(directoryKey, m.directoryKey)
                && directoryIntervalSeconds == m.directoryIntervalSeconds && Objects.equals(directoryCa, m.directoryCa);
    }

    @Override
    public int hashCode() {
        return Objects.hash(peersFile, directory, Arrays.hashCode(directoryKey), directoryIntervalSeconds, directoryCa);
    }
}
