"""Renderers: a Plan or a StatusResult in, a string out. They draw; they decide nothing.

`text`, `json`, `markdown` and `status` draw one view each; `comment` composes the pull-request
comments from them within GitHub's size limit; `progress` words the progress of a wait.
"""
