using System.Text;
using Prox.Actors.Webhooks;
using Xunit;

namespace Prox.Tests.Webhooks;

public class WebhookSignatureTests
{
    [Theory]
    // RFC 4231-style published vectors for HMAC-SHA256
    [InlineData("key", "The quick brown fox jumps over the lazy dog", "sha256=f7bc83f430538424b13298e6aa6fb143ef4d59a14946175997479dbc2d1a3cd8")]
    [InlineData("Jefe", "what do ya want for nothing?", "sha256=5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843")]
    public void Sign_KnownVectors_LowercaseHexWithPrefix(string secret, string body, string expected)
    {
        Assert.Equal(expected, WebhookSignature.Sign(secret, Encoding.UTF8.GetBytes(body)));
    }

    [Theory]
    [InlineData("sha256=f7bc83f430538424b13298e6aa6fb143ef4d59a14946175997479dbc2d1a3cd8", true)]
    [InlineData("sha256=F7BC83F430538424B13298E6AA6FB143EF4D59A14946175997479DBC2D1A3CD8", false)] // exact bytes, lowercase
    [InlineData("sha256=00", false)]
    [InlineData("", false)]
    [InlineData(null, false)]
    public void Verify_Table(string? header, bool expected)
    {
        var body = Encoding.UTF8.GetBytes("The quick brown fox jumps over the lazy dog");

        Assert.Equal(expected, WebhookSignature.Verify("key", body, header));
    }
}
