using System.Collections.Immutable;
using Prox.Actors.Config;
using Prox.Http.Admin;
using Xunit;

namespace Prox.Tests.Admin;

public sealed class AdminAuthTests
{
    private static AdminToken Token(string name, string token, AdminRole role) =>
        new(name, [.. Convert.FromHexString(AdminAuth.HashHex(token))], role);

    private static readonly ImmutableArray<AdminToken> Tokens =
        [Token("reader", "read-secret", AdminRole.Read), Token("ci", "write-secret", AdminRole.Write)];

    [Theory]
    [InlineData("Bearer read-secret", "reader", AdminRole.Read)]
    [InlineData("Bearer write-secret", "ci", AdminRole.Write)]
    [InlineData("bearer write-secret", "ci", AdminRole.Write)]
    [InlineData("Bearer   write-secret  ", "ci", AdminRole.Write)]
    public void Authenticate_ConfiguredToken_ReturnsItsNameAndRole(string header, string name, AdminRole role) =>
        Assert.Equal(new AdminCaller(name, role), AdminAuth.Authenticate(header, Tokens));

    [Theory]
    [InlineData(null)]
    [InlineData("")]
    [InlineData("Bearer")]
    [InlineData("Bearer ")]
    [InlineData("Bearer wrong")]
    [InlineData("Bearer write-secretx")]
    [InlineData("Basic d3JpdGUtc2VjcmV0")]
    [InlineData("write-secret")]
    public void Authenticate_MissingOrUnknownToken_ReturnsNull(string? header) =>
        Assert.Null(AdminAuth.Authenticate(header, Tokens));

    [Fact]
    public void Authenticate_HugeHeader_ReturnsNull() =>
        Assert.Null(AdminAuth.Authenticate("Bearer " + new string('a', 100_000), Tokens));

    [Theory]
    [InlineData("GET", AdminRole.Read)]
    [InlineData("HEAD", AdminRole.Read)]
    [InlineData("POST", AdminRole.Write)]
    [InlineData("PUT", AdminRole.Write)]
    [InlineData("PATCH", AdminRole.Write)]
    [InlineData("DELETE", AdminRole.Write)]
    [InlineData("OPTIONS", AdminRole.Write)]
    public void RequiredRole_ByMethod_OnlyGetAndHeadRead(string method, AdminRole expected) =>
        Assert.Equal(expected, AdminAuth.RequiredRole(method));

    [Theory]
    [InlineData(AdminRole.Read, AdminRole.Read, true)]
    [InlineData(AdminRole.Read, AdminRole.Write, false)]
    [InlineData(AdminRole.Write, AdminRole.Read, true)]
    [InlineData(AdminRole.Write, AdminRole.Write, true)]
    public void Allows_WriteImpliesRead(AdminRole granted, AdminRole required, bool expected) =>
        Assert.Equal(expected, AdminAuth.Allows(granted, required));

    [Fact]
    public void NewToken_Random32BytesBase64Url_HashMatchesAndAuthenticates()
    {
        var (token, hash) = AdminAuth.NewToken();
        var (other, _) = AdminAuth.NewToken();

        Assert.Equal(43, token.Length);
        Assert.Matches("^[A-Za-z0-9_-]{43}$", token);
        Assert.NotEqual(token, other);
        Assert.Matches("^[0-9a-f]{64}$", hash);
        Assert.Equal(AdminAuth.HashHex(token), hash);
        Assert.Equal("ci", AdminAuth.Authenticate("Bearer " + token, [new AdminToken("ci", [.. Convert.FromHexString(hash)], AdminRole.Write)])?.Name);
    }

    [Fact]
    public void HashHex_KnownVector() =>
        Assert.Equal("9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08", AdminAuth.HashHex("test"));
}
