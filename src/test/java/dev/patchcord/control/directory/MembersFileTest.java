package dev.patchcord.control.directory;

import dev.patchcord.control.PeerList.PeerListException;
import dev.patchcord.core.wg.X25519;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.FileTime;
import java.util.SplittableRandom;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

/** Reloading the members file: a good change is used, a bad one is reported once and the old list kept. */
class MembersFileTest {
    private static final long NOW = 1_763_780_000_000L;

    @TempDir
    Path dir;

    private final SplittableRandom rng = new SplittableRandom(3);
    private final byte[] directoryPrivate = X25519.generatePrivate(rng);
    private final byte[] directoryPublic = X25519.publicKey(directoryPrivate);
    private final TestNode alpha = new TestNode(rng, directoryPublic);
    private final TestNode beta = new TestNode(rng, directoryPublic);
    private final TestNode gamma = new TestNode(rng, directoryPublic);
    private long mtime = NOW;

    /** Writes the file with a new modification time, as an editor saving it a second later would. */
    private void write(Path file, String text) throws Exception {
        Files.writeString(file, text);
        mtime += 1000;
        Files.setLastModifiedTime(file, FileTime.fromMillis(mtime));
    }

    private String peers(String... members) {
        return "{peers: [" + String.join(",", members) + "]}";
    }

    @Test
    void aBrokenFileKeepsTheLastGoodListAndAGoodOneReplacesIt() throws Exception {
        Path file = dir.resolve("members.json");
        write(file, peers(alpha.member("alpha", "10.9.0.1/32", ""), beta.member("beta", "10.9.0.2/32", "")));
        MembersFile members = new MembersFile(file);
        DirectoryState state = new DirectoryState(directoryPrivate, members.load(), 120_000);
        assertThat(members.reloadIfChanged(state)).isNull();

        write(file, "{peers: [ {name: \"alpha\", publicKey: ");
        assertThat(members.reloadIfChanged(state)).startsWith("members file " + file + ": not valid JSON")
                .endsWith("; keeping the previous 2 members").doesNotContain("\n");
        assertThat(members.reloadIfChanged(state)).as("reported once").isNull();
        byte[] body = gamma.body(NOW);
        assertThat(state.sync(body, gamma.mac(body), NOW).refusal()).isEqualTo(Refusal.NOT_MEMBER);
        body = alpha.body(NOW);
        assertThat(state.sync(body, alpha.mac(body), NOW).status()).isEqualTo(200);

        write(file, peers(alpha.member("alpha", "10.9.0.1/32", ""), beta.member("beta", "10.9.0.1/32", "")));
        assertThat(members.reloadIfChanged(state)).contains("already belongs to").contains("keeping the previous 2 members");
        write(file, peers(alpha.member("alpha", "10.9.0.1/32", ""), gamma.member("gamma", "10.9.0.3/32", "typo: 1")));
        assertThat(members.reloadIfChanged(state)).contains("unknown member 'typo'");

        write(file, peers(alpha.member("alpha", "10.9.0.1/32", ""), beta.member("beta", "10.9.0.2/32", ""),
                gamma.member("gamma", "10.9.0.3/32", "")));
        assertThat(members.reloadIfChanged(state)).isEqualTo("members file " + file + " reloaded: 3 members");
        body = gamma.body(NOW + 1);
        assertThat(state.sync(body, gamma.mac(body), NOW + 1).status()).isEqualTo(200);
        assertThat(state.memberCount()).isEqualTo(3);
    }

    @Test
    void aFileReplacedByRenameOrRemovedIsNoticed() throws Exception {
        Path file = dir.resolve("members.json");
        write(file, peers(alpha.member("alpha", "10.9.0.1/32", "")));
        MembersFile members = new MembersFile(file);
        DirectoryState state = new DirectoryState(directoryPrivate, members.load(), 120_000);

        Files.delete(file);
        assertThat(members.reloadIfChanged(state)).isEqualTo("members file " + file + " is gone; keeping the previous 1 member");
        assertThat(members.reloadIfChanged(state)).isNull();
        assertThat(state.memberCount()).isEqualTo(1);

        Path next = dir.resolve("members.json.new");
        write(next, peers(alpha.member("alpha", "10.9.0.1/32", ""), beta.member("beta", "10.9.0.2/32", "")));
        Files.move(next, file, java.nio.file.StandardCopyOption.ATOMIC_MOVE);
        assertThat(members.reloadIfChanged(state)).endsWith("reloaded: 2 members");
    }

    @Test
    void aMissingOrBadFileAtStartIsOneLine() throws Exception {
        Path missing = dir.resolve("nope.json");
        assertThatThrownBy(() -> new MembersFile(missing).load()).isInstanceOf(PeerListException.class)
                .hasMessage("members file " + missing + " does not exist");
        Path binary = dir.resolve("binary.json");
        Files.write(binary, new byte[]{(byte) 0xff, (byte) 0xfe, 0});
        assertThatThrownBy(() -> new MembersFile(binary).load()).hasMessage("members file " + binary + " is not UTF-8 text");
    }
}
