using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing.Patterns;
using Prox.Http.Admin;
using Xunit;

namespace Prox.Tests.Admin;

public class AdminGateTests
{
    [Fact]
    public void Author_IdentitySetByAdminAuth_IsTheAuthor()
    {
        var ctx = new DefaultHttpContext();
        ctx.Items[AdminGate.IdentityItem] = "deploy-bot";
        Assert.Equal("deploy-bot", AdminGate.Author(ctx));
    }

    [Fact]
    public void Author_NoIdentity_Anonymous() => Assert.Equal("anonymous", AdminGate.Author(new DefaultHttpContext()));

    [Theory]
    [InlineData("/status", "/status", true)]
    [InlineData("/status", "/STATUS", false)]
    [InlineData("/status", "/status/", false)]
    [InlineData("/status", "/statusx", false)]
    [InlineData("/admin/routes/{route}/backends", "/admin/routes/api/backends", true)]
    [InlineData("/admin/routes/{route}/backends", "/admin/routes/api/backends/", false)]
    [InlineData("/admin/routes/{route}/backends", "/admin/routes//backends", false)]
    [InlineData("/admin/routes/{route}/backends", "/admin/Routes/api/backends", false)]
    [InlineData("/admin/routes/{route}/backends/{id}", "/admin/routes/api/backends/a", true)]
    [InlineData("/admin/routes/{route}/backends/{id}", "/admin/routes/api/backends", false)]
    [InlineData("/admin/config/versions/{**number}", "/admin/config/versions/3", true)]
    [InlineData("/admin/config/versions/{**number}", "/admin/config/versions/3/x", true)]
    [InlineData("/admin/config/versions/{**number}", "/admin/config/Versions/3", false)]
    [InlineData("/{**path}", "/", true)]
    [InlineData("/{**path}", "/anything/At/all/", true)]
    public void IsExact_AsTheHandRoutedPlaneCompared_CaseAndTrailingSlashMatter(string pattern, string path, bool exact) =>
        Assert.Equal(exact, AdminRouting.IsExact(RoutePatternFactory.Parse(pattern), path));
}
