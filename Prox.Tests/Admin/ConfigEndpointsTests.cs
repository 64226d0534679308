using Microsoft.AspNetCore.Http;
using Prox.Http.Admin;
using Xunit;

namespace Prox.Tests.Admin;

public class ConfigEndpointsTests
{
    [Fact]
    public void Author_IdentitySetByAdminAuth_IsTheAuthor()
    {
        var ctx = new DefaultHttpContext();
        ctx.Items[ConfigEndpoints.IdentityItem] = "deploy-bot";
        Assert.Equal("deploy-bot", ConfigEndpoints.Author(ctx));
    }

    [Fact]
    public void Author_NoIdentity_Anonymous() => Assert.Equal("anonymous", ConfigEndpoints.Author(new DefaultHttpContext()));

    [Theory]
    [InlineData("/admin/config", true)]
    [InlineData("/admin/config/versions", true)]
    [InlineData("/admin/config/versions/3", true)]
    [InlineData("/admin/config/diff", true)]
    [InlineData("/admin/config/rollback", true)]
    [InlineData("/admin/config/reload", false)]
    [InlineData("/admin/configx", false)]
    public void Handles_ConfigHistoryPathsOnly(string path, bool handled) => Assert.Equal(handled, ConfigEndpoints.Handles(path));
}
