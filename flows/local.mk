# Sample configuration: installed under $(sysconfdir)/sluice without
# overwriting what an operator already has there.
EXTRA_DIST += flows/sluice.conf flows/flows.d

install-data-local:
	$(MKDIR_P) $(DESTDIR)$(sluiceconfdir)/flows.d
	@if test -f $(DESTDIR)$(sluiceconfdir)/sluice.conf; then \
	  echo "keeping existing $(DESTDIR)$(sluiceconfdir)/sluice.conf"; \
	else \
	  $(INSTALL_DATA) $(srcdir)/flows/sluice.conf $(DESTDIR)$(sluiceconfdir)/sluice.conf; \
	fi
	@for f in $(srcdir)/flows/flows.d/*.conf; do \
	  b=`basename $$f`; \
	  if test -f $(DESTDIR)$(sluiceconfdir)/flows.d/$$b; then \
	    echo "keeping existing $(DESTDIR)$(sluiceconfdir)/flows.d/$$b"; \
	  else \
	    $(INSTALL_DATA) $$f $(DESTDIR)$(sluiceconfdir)/flows.d/$$b; \
	  fi; \
	done

uninstall-local:
	@for f in $(srcdir)/flows/flows.d/*.conf; do \
	  b=`basename $$f`; \
	  cmp -s $$f $(DESTDIR)$(sluiceconfdir)/flows.d/$$b && rm -f $(DESTDIR)$(sluiceconfdir)/flows.d/$$b; \
	done; true
	@cmp -s $(srcdir)/flows/sluice.conf $(DESTDIR)$(sluiceconfdir)/sluice.conf && \
	  rm -f $(DESTDIR)$(sluiceconfdir)/sluice.conf; true
	-rmdir $(DESTDIR)$(sluiceconfdir)/flows.d $(DESTDIR)$(sluiceconfdir) 2>/dev/null
