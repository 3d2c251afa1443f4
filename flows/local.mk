# Configuration. make install puts a sluice.conf in $(sysconfdir)/sluice
# that opens no trigger (flows/installed.conf; an operator's own file is
# never overwritten) and an empty flows.d/ beside it. The samples, whose
# triggers carry keys published in this tree, go to $(docdir)/examples
# only, which nothing includes: installed as configuration they would
# accept requests signed with those keys.
examplesdir = $(docdir)/examples
dist_examples_DATA = flows/sluice.conf
examplesflowsdir = $(docdir)/examples/flows.d
dist_examplesflows_DATA = \
	flows/flows.d/container.conf \
	flows/flows.d/deploy.conf \
	flows/flows.d/dialects.conf \
	flows/flows.d/forward.conf \
	flows/flows.d/git.conf \
	flows/flows.d/hello.conf \
	flows/flows.d/report.conf
EXTRA_DIST += flows/installed.conf
INSTALLED_CONF = sed 's|@examplesdir@|$(examplesdir)|' $(srcdir)/flows/installed.conf

install-data-local:
	$(MKDIR_P) $(DESTDIR)$(sluiceconfdir)/flows.d
	@if test -f $(DESTDIR)$(sluiceconfdir)/sluice.conf; then \
	  echo "keeping existing $(DESTDIR)$(sluiceconfdir)/sluice.conf"; \
	else \
	  echo " $(INSTALLED_CONF) > $(DESTDIR)$(sluiceconfdir)/sluice.conf"; \
	  $(INSTALLED_CONF) > $(DESTDIR)$(sluiceconfdir)/sluice.conf && \
	  chmod 644 $(DESTDIR)$(sluiceconfdir)/sluice.conf; \
	fi

uninstall-local:
	@$(INSTALLED_CONF) | cmp -s - $(DESTDIR)$(sluiceconfdir)/sluice.conf && \
	  rm -f $(DESTDIR)$(sluiceconfdir)/sluice.conf; true
	-rmdir $(DESTDIR)$(sluiceconfdir)/flows.d $(DESTDIR)$(sluiceconfdir) 2>/dev/null
