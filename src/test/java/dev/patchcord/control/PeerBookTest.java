package dev.patchcord.control;

import org.junit.jupiter.api.Test;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

class PeerBookTest {
    private static final String KEY_A = "HIgo9xNzJMWLKASShiTqIybxZ0U3wGLiUeJ1PKf8ykw=";
    private static final String KEY_B = "xTIBA5rboUvnH4htodjb6e697QjLERt1NAB4mZqp8Dg=";
    private static final String SERVER = """
            # the office server
            [Interface]
            PrivateKey = yAnz5TF+lXXJte14tji3zlMNq+hd2rYUIgJBgB3fBmk=
            Address = 10.8.0.1/24
            ListenPort = 51820

            [Peer]
            # a peer the operator wrote by hand, without a name
            PublicKey = TrMvSoP4jYQlY6RIzBgbssQqY3vxI2Pi+y71lOWWXX0=
            AllowedIPs = 10.8.0.9/32
            """;

    @Test
    void addThenListThenRemoveLeavesTheRestOfTheFileAsItWas() throws Exception {
        String one = PeerBook.add(SERVER, "alice", KEY_A, KEY_B, "10.8.0.2/32");
        String two = PeerBook.add(one, "bob", KEY_B, null, "10.8.0.3/32, fd00::3/128");
        assertThat(two).startsWith(SERVER);
        var entries = PeerBook.list(two);
        assertThat(entries).extracting(PeerBook.Entry::name).containsExactly(null, "alice", "bob");
        assertThat(entries.get(2).allowedIps()).isEqualTo("10.8.0.3/32, fd00::3/128");
        // wg-quick's parser (and patchcord's) accepts the result: the name is only a comment.
        assertThat(WgConfig.parse(two, "t").peers()).hasSize(3);

        String back = PeerBook.remove(two, PeerBook.find(two, "bob"));
        assertThat(back).isEqualTo(one);
        assertThat(PeerBook.remove(back, PeerBook.find(back, "alice"))).isEqualTo(SERVER);
    }

    @Test
    void removingAPeerInTheMiddleKeepsTheOthers() {
        String text = PeerBook.add(PeerBook.add(SERVER, "alice", KEY_A, null, "10.8.0.2/32"), "bob", KEY_B, null, "10.8.0.3/32");
        String after = PeerBook.remove(text, PeerBook.find(text, "alice"));
        assertThat(PeerBook.list(after)).extracting(PeerBook.Entry::name).containsExactly(null, "bob");
        assertThat(after).doesNotContain(KEY_A).contains(KEY_B).contains("TrMvSoP4");
    }

    @Test
    void namesAreOneWordAndUnique() {
        assertThatThrownBy(() -> PeerBook.add(SERVER, "two words", KEY_A, null, "10.8.0.2/32"))
                .hasMessageContaining("letters, digits");
        assertThatThrownBy(() -> PeerBook.checkName("-leading")).isInstanceOf(IllegalArgumentException.class);
        assertThatThrownBy(() -> PeerBook.checkName("a".repeat(65))).isInstanceOf(IllegalArgumentException.class);
        String one = PeerBook.add(SERVER, "alice", KEY_A, null, "10.8.0.2/32");
        assertThatThrownBy(() -> PeerBook.add(one, "alice", KEY_B, null, "10.8.0.3/32"))
                .hasMessageContaining("already");
    }

    @Test
    void aFileWithoutTrailingNewlineGetsASeparateSection() throws Exception {
        String text = SERVER.strip();
        String added = PeerBook.add(text, "carol", KEY_A, null, "10.8.0.4/32");
        assertThat(added).contains("10.8.0.9/32\n\n[Peer]\n# Name = carol\n");
        assertThat(WgConfig.parse(added, "t").peers()).hasSize(2);
    }
}
